/* What husk uses of glibc beyond POSIX, supplied where the C library lacks it.
 *
 * husk is built with glibc. husk-monitor (with husk-init and the part of libhusk they use) can
 * also be built with musl, Debian 12's 1.2.3 (contrib/build-musl-deps, -Dmonitor_only): one
 * monitor runs per container, and a musl-static one is several times smaller. Everything musl
 * lacks that this code calls is declared here and defined in libc_compat.c, so that the rest
 * of the code calls the glibc names either way. Under glibc this header declares nothing. */
#pragma once

#include <features.h> /* __GLIBC__, or not: first, whatever the file includes after this */

#ifndef __GLIBC__
/* glibc 2.32: "TERM" for SIGTERM; NULL for a number that is no signal or a real-time one. */
const char *sigabbrev_np(int sig);
#endif
