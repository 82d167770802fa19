/* Entering the namespaces of a running process (a container's pid 1): what docker exec needs.
 *
 * Joining a pid namespace only places the children made afterwards, so the process is made in
 * two steps: a helper joins every namespace of the target that differs from ours (with a pidfd,
 * all at once: the user namespace first, then the others with the capabilities it gives), then
 * clones with CLONE_PARENT. The new process is inside all of them and still the caller's own
 * child: the caller reaps it, as it reaps the container. */
#pragma once

#include "error.h"

#include <sys/types.h>

/* Like fork(): 0 in the new process, its pid in the caller, or -errno with err set. pidfd is
 * a pidfd of target (kept open by the caller across calls). cgroup: the container's own cgroup
 * v2 directory (or NULL), which the helper enters before the namespaces (inside the container's
 * cgroup namespace its own cgroup is out of sight, and the kernel refuses moves from there), so
 * the new process is made in it. The caller must be single-threaded. */
pid_t husk_fork_into(int pidfd, pid_t target, const char *cgroup, struct husk_error *err);
