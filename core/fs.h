/* File-system helpers: atomic writes, whole-file reads, directory trees. */
#pragma once

#include "util.h"

#include <sys/types.h>

/* mkdir -p with mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode);
/* Write-temp, fsync (when sync), rename: the file is either the old or the new content. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync);
/* Reads a whole file (at most max bytes, else -EFBIG); *out is NUL-terminated. */
int read_file(const char *path, char **out, size_t *len, size_t max);
/* Same, relative to a directory fd. */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max);
/* rm -rf that never follows symlinks; only removes what the caller may remove. */
int rm_rf(const char *path);
int rm_rf_at(int dirfd, const char *name);
/* The bytes of the regular files under the directory fd (consumed), without following
 * symlinks, as far as they can be read (what a prune reports it frees). Bounded in depth: it
 * runs on husk-api's small thread stacks. */
int64_t tree_size(int dirfd);
/* fsync a directory (after renames into it). */
int fsync_dir(const char *path);
/* Copies all of in to out (files or pipes). */
int copy_fd(int in, int out);
bool path_exists(const char *path);
/* A companion program (husk-monitor, husk-helper, husk-init): $env_name, else beside this
 * program (the build tree, or an install keeping them together), else libexec. */
char *husk_find_tool(const char *name, const char *env_name);

/* Opens path inside the tree of rootfd, as if rootfd were "/": openat2 with RESOLVE_IN_ROOT
 * (no symlink or ".." leads out) and RESOLVE_NO_MAGICLINKS, retried when the kernel asks (a
 * rename raced a ".."). O_CLOEXEC is added. -errno. */
int openat2_in_root(int rootfd, const char *path, int flags);
/* Opens (creating what is missing, with mode) a directory inside the root; an O_PATH fd. */
int mkdir_in_root(int rootfd, const char *path, mode_t mode);

#include <sys/un.h>
/* A unix socket address for path, however long: a path that doesn't fit sun_path is reached
 * through an O_PATH fd of its directory (/proc/self/fd/N/name), returned in *dirfd to be
 * closed after bind() or connect(). */
int unix_socket_addr(const char *path, struct sockaddr_un *sa, int *dirfd);
