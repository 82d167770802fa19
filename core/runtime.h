/* Starting a container process: user namespace with the id mapping, the other namespaces,
 * the root file system (overlay of the image layers), /proc /dev /sys, credentials,
 * capabilities, seccomp, exec. The monitor calls husk_runtime_start and owns the child.
 *
 * The split follows the kernel concerns: mounts.c (the file system tree), caps.c
 * (capabilities), passwd.c (users from the image), seccomp.c (filters), runtime.c (clone,
 * handshake, the order of the steps). */
#pragma once

#include "error.h"
#include "userns.h"

#include <sys/types.h>

enum husk_netmode {
	HUSK_NET_PRIVATE, /* own network namespace; only lo for now */
	HUSK_NET_NONE,	  /* own network namespace, only lo */
	HUSK_NET_HOST,	  /* the user's network namespace */
};

enum husk_mount_kind {
	HUSK_MOUNT_BIND,
	HUSK_MOUNT_TMPFS,
	HUSK_MOUNT_VOLUME, /* a bind of a volume's directory */
};

struct husk_mount {
	enum husk_mount_kind kind;
	/* Binds: the host path. Volumes: the name as parsed (NULL: anonymous); in a runtime
	 * spec, the volume's _data directory. */
	char *source;
	char *target;	/* path inside the container */
	char *options;	/* tmpfs data ("size=64m,mode=1777") */
	unsigned long flags; /* tmpfs mount flags (MS_NOEXEC, ...) */
	char *mode;	/* the mode as given ("ro", "z,rw", ...), "" when none */
	char *propagation; /* binds: "rprivate" unless one was asked for */
	bool readonly;
	bool recursive;	    /* rbind */
	bool create_source; /* -v HOST:CTR: a missing host directory is made at start */
	bool copy_up;	    /* volumes: an empty one gets the image's content first */
};

struct husk_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct husk_spec {
	char id[65];
	/* The process. */
	char **argv;
	char **env;
	char *cwd;
	char *user; /* "", "uid", "uid:gid", "name", "name:group" */
	bool tty;
	bool open_stdin;
	unsigned short rows, cols;
	/* Identity and namespaces. */
	char *hostname;
	char *domainname;
	enum husk_netmode net;
	/* The root file system. */
	char *rootfs;	       /* the mount point */
	char *layers_dir;      /* lower dirs are relative to this, to keep the option short */
	char **lowerdirs;      /* bottom layer first, relative to layers_dir */
	char *upperdir;
	char *workdir;
	bool readonly_rootfs;
	char *hosts_file, *hostname_file, *resolv_file;
	struct husk_mount *mounts;
	size_t n_mounts;
	char *shm_options;
	/* Security. */
	bool privileged;
	uint64_t caps;		 /* capability mask for a root process */
	bool no_new_privs;
	char *seccomp_profile;	 /* NULL: Docker's default; "unconfined": none; else JSON */
	char **masked_paths;
	char **readonly_paths;
	struct husk_rlimit *rlimits;
	size_t n_rlimits;
	int oom_score_adj; /* 0: the inherited value; only raised (rootless) */
	char **extra_groups;	 /* --group-add */
	/* --init: argv starts with HUSK_INIT_TARGET, and init_path is bound there read-only. */
	char *init_path;
	/* Resources: the container's own cgroup v2 directory (core/delegation.h), or NULL to
	 * stay in the monitor's. Its processes, exec'd ones too, are made inside it. */
	char *cgroup;
};

/* Where --init's program appears in the container (Docker's path for its docker-init). */
#define HUSK_INIT_TARGET "/sbin/docker-init"

void husk_spec_free(struct husk_spec *spec);

struct husk_stdio {
	/* Non-TTY: the container's ends of its stdin (or -1 for /dev/null), stdout, stderr. */
	int in, out, err;
};

struct husk_process {
	pid_t pid;
	int pty_master; /* TTY containers: the master side, -1 otherwise */
	int sync;	/* exec: the process's report socket until it execs, -1 otherwise */
};

/* Starts the container. On success the process has exec'd (pid set). On failure err holds a
 * message in Docker's words and the return is -ENOENT (executable not found: exit 127),
 * -EACCES (not executable: 126) or another -errno. */
int husk_runtime_start(const struct husk_spec *spec, const struct husk_idmap *idmap,
		       const struct husk_stdio *stdio, struct husk_process *proc,
		       struct husk_error *err);

/* Seccomp filters built once for a container's exec'd processes: f[0] for a user other than
 * root (no effective capabilities), f[1] for root (the container's capabilities). */
struct husk_seccomp_filter;
struct husk_exec_filters {
	bool built;
	struct husk_seccomp_filter *f[2];
};

/* docker exec: starts spec (the container's, with argv, env, user, cwd, tty, caps and
 * privileged those of the exec) in the namespaces of the container's pid 1 (pid, and pidfd
 * open on it), as the container's own process is set up from its terminal on: user, working
 * directory, rlimits, capabilities, no_new_privs, seccomp (filters prebuilt, or NULL to build
 * them in the process). It is the caller's child. proc->pid is set at once; the process then
 * reports on proc->sync, which the caller reads with husk_runtime_report until it is at EOF
 * (exec'd) or gives an error, then closes. */
int husk_runtime_exec(const struct husk_spec *spec, int pidfd, pid_t pid,
		      const struct husk_exec_filters *filters, const struct husk_stdio *stdio,
		      struct husk_process *proc, struct husk_error *err);
/* One report of a starting process: 1 with its pty master in *pty, 0 at EOF (it has exec'd),
 * or its failure (-ENOENT: command not found, -EACCES: not executable, ...) with the message
 * in err. */
int husk_runtime_report(int sync, int *pty, struct husk_error *err);

/* Docker's default capabilities, as a mask (CapEff 00000000a80425fb for root). */
#define HUSK_DEFAULT_CAPS 0x00000000a80425fbULL

/* The masked and read-only paths Docker applies. */
extern const char *const husk_default_masked_paths[];
extern const char *const husk_default_readonly_paths[];
