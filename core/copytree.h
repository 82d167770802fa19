/* Copying a directory tree between directory fds with what makes it the same tree: owners,
 * modes (set-id bits too), times, symlinks, hard links, fifos. Used for a volume's copy-up,
 * as root of the container's user namespace, so that owners come out as in the image. */
#pragma once

#include "util.h"

/* 1 when the directory has no entries, 0 when it has, or -errno. */
int husk_dir_empty(int dirfd);
/* Copies what is in src into dst (which should be empty), then gives dst src's owner, mode
 * and times. Device nodes and sockets are left out (a user namespace can't make them);
 * owners the namespace does not map are left as they come out. Returns 0 or -errno. */
int husk_copy_tree(int src_dirfd, int dst_dirfd);
