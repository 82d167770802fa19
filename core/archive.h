/* A container's files as docker cp sees them: paths, stat and tar archives of a path.
 *
 * Every function here works inside a root given as a directory fd (the container's root, once
 * the caller has entered it): paths from clients are opened with openat2_in_root, so no
 * symlink and no ".." reaches outside it. What is pure (the path rules, Go's FileMode, the
 * stat JSON, entry names) is unit-tested. */
#pragma once

#include "error.h"

#include <jansson.h>
#include <sys/stat.h>

/* Docker's absolute form of a client path: "/" joined and cleaned like Go's filepath.Join,
 * keeping a trailing "/" or "/." (archive.PreserveTrailingDotOrSeparator): "a/../b/" → "/b/",
 * "dir/." → "/dir/.", "" → "/". */
char *husk_archive_abs_path(const char *path);
/* Go's filepath.Base of an absolute path: "/a/b/" → "b", "/a/." → ".", "/" → "/". */
char *husk_path_base(const char *path);
/* Go's path.Clean of an absolute path (".." at the root stays there). */
char *husk_path_clean_abs(const char *path);

/* Go's os.FileMode of a stat mode: permission bits, type bits (dir 1<<31, symlink 1<<27,
 * device 1<<26, named pipe 1<<25, socket 1<<24, char device 1<<21 | 1<<26) and setuid 1<<23,
 * setgid 1<<22, sticky 1<<20. */
uint32_t husk_go_filemode(mode_t mode);
/* Docker's ContainerPathStat: {"name","size","mode","mtime","linkTarget"}, mtime in RFC 3339
 * with nanoseconds, as the X-Docker-Container-Path-Stat header carries it (base64). */
json_t *husk_path_stat_json(const char *name, const struct stat *st, const char *link_target);

/* The absolute path path leads to inside the root, every symlink followed (at most 255),
 * "/.." staying at "/", and missing components kept as they are written: Docker's
 * symlink.FollowSymlinkInScope(path, "/"). */
int husk_path_resolve(int rootfd, const char *path, char **out);

/* What GET and HEAD /containers/{id}/archive report about path (a client path): lstat of its
 * absolute form (a trailing "/" or "/." follows a final symlink), the name (filepath.Base) and,
 * for a symlink, where it leads (husk_path_resolve). -ENOENT when it does not exist. */
struct husk_path_stat {
	struct stat st;
	char *abs; /* husk_archive_abs_path */
	char *name;
	char *link_target; /* "" unless a symlink */
};
int husk_archive_stat(int rootfd, const char *path, struct husk_path_stat *ps);
void husk_path_stat_clear(struct husk_path_stat *ps);

/* The name of a tar entry for rel (the path below the archived resource, "" for the resource
 * itself) when the resource is archived as base, Docker's TarResourceRebase: the resource is
 * "base" ("base/" for a directory), what it holds "base/rel"; the root "/" rebases to "", so its
 * contents are "/bin", "/etc/...". A NULL base names the contents "rel" alone (docker export). */
char *husk_archive_entry_name(const char *base, const char *rel, bool dir);

enum husk_walk {
	/* Descends into every mount but the kernel's pseudo file systems (proc, sysfs, cgroup,
	 * devpts, mqueue, ...): docker cp of a path. */
	HUSK_WALK_MOUNTS,
	/* Stays on the file system of the top: docker export of the root file system. */
	HUSK_WALK_XDEV,
};

/* Writes a tar of the resource ps describes (from husk_archive_stat: a file, a symlink itself,
 * or a directory and all it holds) to fd: entries named as husk_archive_entry_name says for
 * base (ps->name for docker cp; NULL for docker export: the contents of a directory without
 * itself), uid and gid numeric as seen in the root, mtimes in seconds, hard links as links.
 * Sockets are left out, as Docker leaves them. */
int husk_archive_write(int rootfd, const struct husk_path_stat *ps, const char *base,
		       enum husk_walk walk, int fd, struct husk_error *err);
