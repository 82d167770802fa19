/* What husk uses of glibc beyond POSIX, supplied where the C library lacks it.
 *
 * husk is built with glibc. husk-monitor (with husk-init and the part of libhusk they use) can
 * also be built with musl, Debian 12's 1.2.3 (contrib/build-musl-deps, -Dmonitor_only): one
 * monitor runs per container, and a musl-static one is several times smaller. Everything musl
 * lacks that this code calls is declared here and defined in libc_compat.c, so that the rest
 * of the code calls the glibc names either way. */
#pragma once

#include <features.h> /* __GLIBC__, or not: first, whatever the file includes after this */

#ifndef __GLIBC__
/* glibc 2.32: "TERM" for SIGTERM; NULL for a number that is no signal or a real-time one. */
const char *sigabbrev_np(int sig);
#endif

/* The children that set up a container's process or an exec, until they execve or exit:
 * their allocations come from an arena of their own, whose freed blocks are reused but never
 * returned to the kernel (the execve returns all of it at once). Building the seccomp filter
 * makes libseccomp allocate and free thousands of small blocks; musl's malloc maps and unmaps
 * a group of them at a time, ~400 mmap and munmap calls per container start (+10 ms of CPU,
 * most of it the kernel's), where glibc's keeps its heap. A no-op with glibc; with musl the
 * monitor is linked with --wrap for malloc, free, calloc and realloc (child_alloc.c). */
void husk_malloc_until_exec(void);
