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
};

struct husk_mount {
	enum husk_mount_kind kind;
	char *source;	/* host path for binds */
	char *target;	/* path inside the container */
	char *options;	/* tmpfs data ("size=64m,mode=1777") */
	unsigned long flags; /* tmpfs mount flags (MS_NOEXEC, ...) */
	bool readonly;
	bool recursive; /* rbind */
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
	char **extra_groups;	 /* --group-add */
};

void husk_spec_free(struct husk_spec *spec);

struct husk_stdio {
	/* Non-TTY: the container's ends of its stdin (or -1 for /dev/null), stdout, stderr. */
	int in, out, err;
};

struct husk_process {
	pid_t pid;
	int pty_master; /* TTY containers: the master side, -1 otherwise */
};

/* Starts the container. On success the process has exec'd (pid set). On failure err holds a
 * message in Docker's words and the return is -ENOENT (executable not found: exit 127),
 * -EACCES (not executable: 126) or another -errno. */
int husk_runtime_start(const struct husk_spec *spec, const struct husk_idmap *idmap,
		       const struct husk_stdio *stdio, struct husk_process *proc,
		       struct husk_error *err);

/* What a process in a container runs: the container's first process, or one started later
 * in its namespaces (core/nsexec.c). The container's spec gives the rest (limits,
 * capabilities, no_new_privs, seccomp). */
struct husk_proc_spec {
	char *const *argv;
	char *const *env;	   /* HOME is added from the user's passwd entry when absent */
	const char *user;	   /* as Config.User, resolved in the container's /etc/passwd */
	char *const *extra_groups;
	const char *cwd;	   /* NULL or "": "/" */
	bool create_cwd;	   /* create a missing cwd (the container's WorkingDir) */
};

/* In a child that is root in the container's namespaces and root directory, with its stdio
 * in place: sets up p and exec's it. setup_result < 0 (with err) is a failure of what came
 * before. A failure is reported on sync (closed on exec: EOF means it runs) and the child
 * exits 127 (not found), 126 (not executable) or 1. Never returns. */
_noreturn_ void husk_proc_exec(const struct husk_spec *c, const struct husk_proc_spec *p,
			       int sync, int setup_result, struct husk_error *err);
/* In such a child's helper: tells the parent the pid of the process it made. */
int husk_proc_report_pid(int sync, pid_t pid);
/* The parent's side of sync: 0 once every copy of it is closed with the process exec'd, or
 * the failure reported (Docker's message, -ENOENT / -EACCES as for husk_runtime_start).
 * Collects a pty master (TTY) and a reported pid when asked. timeout_ms < 0: no limit. */
int husk_proc_wait_exec(int sock, int timeout_ms, int *pty, pid_t *pid, struct husk_error *err);

/* Docker's default capabilities, as a mask (CapEff 00000000a80425fb for root). */
#define HUSK_DEFAULT_CAPS 0x00000000a80425fbULL

/* The masked and read-only paths Docker applies. */
extern const char *const husk_default_masked_paths[];
extern const char *const husk_default_readonly_paths[];
