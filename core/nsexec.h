/* Starting a process inside a running container (healthcheck probes, docker exec): a helper
 * joins the namespaces of the container's first process with one setns() on its pidfd and
 * makes the process with CLONE_PARENT, so the caller (the container's monitor) is its parent
 * and reaps it as it reaps the container. The process enters the container's root and sets
 * itself up as the container's first process did (husk_proc_exec): user, environment, limits,
 * capabilities, no_new_privs, seccomp. The caller must be single-threaded. */
#pragma once

#include "runtime.h"

/* target: the container's first process as the host sees it; c: the container's spec; io:
 * the new process's stdio (io->in < 0: /dev/null). On success *pid is the new process, which
 * has exec'd. A command that cannot run fails with Docker's message (-ENOENT: not found,
 * -EACCES: not executable); -ESRCH when target is gone. */
int husk_ns_spawn(pid_t target, const struct husk_spec *c, const struct husk_proc_spec *p,
		  const struct husk_stdio *io, pid_t *pid, struct husk_error *err);
