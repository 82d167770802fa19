/* Extracting a tar archive into a directory of a container (PUT /containers/{id}/archive).
 *
 * Every entry is created relative to a directory fd opened with openat2_in_root from the
 * container's root fd: entry names are cleaned first (a leading "/" is dropped, as Docker joins
 * them to the extraction directory; a ".." fails the whole archive), the entry's parent is
 * resolved inside the root (symlinks included, as Docker follows them in its chroot), and
 * the entry itself is made with *at calls that never follow a symlink in its place. */
#pragma once

#include "error.h"

#include <sys/types.h>

struct archive;
struct husk_spec;

struct husk_extract_opts {
	/* Docker's noOverwriteDirNonDir: never replace a directory by a non-directory or the
	 * reverse (400 "cannot overwrite directory ... with non-directory ..."). */
	bool no_overwrite_dir_non_dir;
	/* copyUIDGID: entries keep the archive's numeric owners (ids of the container); without
	 * it they belong to the container's root. */
	bool copy_uid_gid;
};

/* A reader of the archive on fd: plain tar, or compressed with gzip, bzip2, xz or zstd (Docker
 * accepts the same); an empty body is an empty archive. Open it before entering the container:
 * a decompressor libarchive runs as a program must be the host's. */
struct archive *husk_extract_reader(int fd, struct husk_error *err);

/* Reads the whole archive and checks every entry's name and link target, so that a bad
 * archive is refused before anything is written. -EINVAL with Docker's message. */
int husk_extract_check(struct archive *in, const char *dest, struct husk_error *err);

/* Docker's checkWritablePath for dest (a clean absolute path, symlinks resolved): inside a
 * mount, that mount's read-only flag decides (400 "mounted volume is marked read-only"),
 * elsewhere ReadonlyRootfs (400 "container rootfs is marked read-only"). */
int husk_extract_writable(const struct husk_spec *spec, const char *dest, struct husk_error *err);

/* Extracts the archive into dest, a directory given as a clean absolute path inside the root
 * of rootfd (what the entries' messages show). */
int husk_extract(int rootfd, const char *dest, struct archive *in,
		 const struct husk_extract_opts *o, struct husk_error *err);
