#include "userns.h"
#include "fs.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>

extern char **environ;

static int find_range(const char *file, const char *user, unsigned id, unsigned *start,
		      uint32_t *count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	*count = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[512];
	char idstr[16];
	snprintf(idstr, sizeof idstr, "%u", id);
	while (fgets(line, sizeof line, f)) {
		char *save = NULL;
		char *name = strtok_r(line, ":\n", &save);
		char *s = strtok_r(NULL, ":\n", &save);
		char *c = strtok_r(NULL, ":\n", &save);
		if (!name || !s || !c)
			continue;
		if (!streq(name, user) && !streq(name, idstr))
			continue;
		int64_t vs, vc;
		if (parse_int64(s, &vs) < 0 || parse_int64(c, &vc) < 0 || vs < 0 || vc <= 0 ||
		    vs > UINT32_MAX || vc > UINT32_MAX)
			continue;
		/* The first usable range wins; prefer one that covers all we map. */
		if (*count == 0 || ((uint32_t)vc >= HUSK_MAX_SUBIDS && *count < HUSK_MAX_SUBIDS)) {
			*start = (unsigned)vs;
			*count = (uint32_t)vc;
		}
	}
	if (*count > HUSK_MAX_SUBIDS)
		*count = HUSK_MAX_SUBIDS;
	return 0;
}

int husk_idmap_load_from(struct husk_idmap *m, const char *subuid, const char *subgid,
			 const char *user)
{
	memset(m, 0, sizeof *m);
	m->uid = getuid();
	m->gid = getgid();
	unsigned start = 0;
	int r = find_range(subuid, user, m->uid, &start, &m->subuid_count);
	if (r < 0)
		return r;
	m->subuid_start = start;
	r = find_range(subgid, user, m->uid, &start, &m->subgid_count);
	if (r < 0)
		return r;
	m->subgid_start = start;
	return 0;
}

int husk_idmap_format(const struct husk_idmap *m, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%u:%u:%u:%u:%u:%u", (unsigned)m->uid, (unsigned)m->gid,
			 (unsigned)m->subuid_start, m->subuid_count, (unsigned)m->subgid_start,
			 m->subgid_count);
	return k < 0 || (size_t)k >= n ? -ENOSPC : 0;
}

int husk_idmap_parse(const char *s, struct husk_idmap *m)
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%u:%u:%u:%u:%u:%u%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
	    6)
		return -EINVAL;
	if (v[3] > HUSK_MAX_SUBIDS || v[5] > HUSK_MAX_SUBIDS)
		return -EINVAL;
	*m = (struct husk_idmap){.uid = v[0], .gid = v[1], .subuid_start = v[2],
				 .subuid_count = v[3], .subgid_start = v[4], .subgid_count = v[5]};
	return 0;
}

bool husk_idmap_has_range(const struct husk_idmap *m)
{
	return m->subuid_count > 0 && m->subgid_count > 0;
}

uid_t husk_idmap_host_uid(const struct husk_idmap *m, uid_t cuid)
{
	if (cuid == 0)
		return m->uid;
	if (husk_idmap_has_range(m) && cuid - 1 < m->subuid_count)
		return m->subuid_start + cuid - 1;
	return (uid_t)-1;
}

gid_t husk_idmap_host_gid(const struct husk_idmap *m, gid_t cgid)
{
	if (cgid == 0)
		return m->gid;
	if (husk_idmap_has_range(m) && cgid - 1 < m->subgid_count)
		return m->subgid_start + cgid - 1;
	return (gid_t)-1;
}

static int run_helper(const char *prog, pid_t pid, unsigned id, unsigned start, uint32_t count,
		      struct husk_error *err)
{
	char spid[16], sid[16], sstart[16], scount[16];
	snprintf(spid, sizeof spid, "%d", (int)pid);
	snprintf(sid, sizeof sid, "%u", id);
	snprintf(sstart, sizeof sstart, "%u", start);
	snprintf(scount, sizeof scount, "%u", count);
	char *argv[] = {(char *)prog, spid, "0", sid, "1", "1", sstart, scount, NULL};
	pid_t child;
	/* posix_spawn: safe in a threaded process, and cheaper than fork. */
	int r = posix_spawnp(&child, prog, NULL, NULL, argv, environ);
	if (r != 0)
		return husk_error_sys(err, -r, "cannot run %s (install the uidmap package)", prog);
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return husk_error_sys(err, -errno, "waitpid %s", prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_error_set(err, -EPERM,
				      "%s %s 0 %s 1 1 %s %s failed (exit %d): check /etc/subuid and "
				      "/etc/subgid",
				      prog, spid, sid, sstart, scount,
				      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int write_proc(pid_t pid, const char *file, const char *content)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, content, strlen(content));
}

int husk_idmap_apply(const struct husk_idmap *m, pid_t pid, struct husk_error *err)
{
	if (husk_idmap_has_range(m)) {
		int r = run_helper("newuidmap", pid, m->uid, m->subuid_start, m->subuid_count, err);
		if (r < 0)
			return r;
		return run_helper("newgidmap", pid, m->gid, m->subgid_start, m->subgid_count, err);
	}
	char line[64];
	snprintf(line, sizeof line, "0 %u 1\n", (unsigned)m->uid);
	int r = write_proc(pid, "uid_map", line);
	if (r < 0)
		return husk_error_sys(err, r, "write uid_map");
	r = write_proc(pid, "setgroups", "deny");
	if (r < 0)
		return husk_error_sys(err, r, "write setgroups");
	snprintf(line, sizeof line, "0 %u 1\n", (unsigned)m->gid);
	r = write_proc(pid, "gid_map", line);
	if (r < 0)
		return husk_error_sys(err, r, "write gid_map");
	return 0;
}

int husk_userns_run(const struct husk_idmap *m, int (*fn)(void *arg, struct husk_error *err),
		    void *arg, struct husk_error *err)
{
	int ready[2], go[2], result[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return husk_error_sys(err, -errno, "pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return husk_error_sys(err, -errno, "pipe");
	}
	if (pipe2(result, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		close(go[0]);
		close(go[1]);
		return husk_error_sys(err, -errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		for (int i = 0; i < 2; i++) {
			close(ready[i]);
			close(go[i]);
			close(result[i]);
		}
		return husk_error_sys(err, e, "fork");
	}
	if (pid == 0) {
		struct husk_error cerr = {0};
		char c = 0;
		close(ready[0]);
		close(go[1]);
		close(result[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
		if (r < 0)
			r = husk_error_sys(&cerr, -errno, "unshare(CLONE_NEWUSER)");
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1 || c != 1) {
			if (r == 0)
				r = husk_error_set(&cerr, -EPERM, "user namespace mapping failed");
		}
		if (r == 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			r = husk_error_sys(&cerr, -errno, "setresuid in user namespace");
		if (r == 0)
			r = fn(arg, &cerr);
		if (r < 0) {
			if (!cerr.code)
				husk_error_sys(&cerr, r, "failed");
			cerr.code = r;
			(void)!write(result[1], &cerr, sizeof cerr);
		}
		_exit(r < 0 ? 1 : 0);
	}
	close(ready[1]);
	close(go[0]);
	close(result[1]);
	char c;
	int r = 0;
	if (read(ready[0], &c, 1) != 1)
		r = husk_error_set(err, -EIO, "user namespace helper died");
	if (r == 0)
		r = husk_idmap_apply(m, pid, err);
	c = r == 0 ? 1 : 0;
	(void)!write(go[1], &c, 1);
	close(go[1]);
	close(ready[0]);

	struct husk_error cerr = {0};
	ssize_t n = read_full(result[0], &cerr, sizeof cerr);
	close(result[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	if (n == (ssize_t)sizeof cerr && cerr.code < 0) {
		if (err)
			*err = cerr;
		return cerr.code;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_error_set(err, -EIO, "user namespace helper failed");
	return 0;
}

static int rm_in_userns(void *arg, struct husk_error *err)
{
	int r = rm_rf(arg);
	return r < 0 ? husk_error_sys(err, r, "remove %s", (char *)arg) : 0;
}

int husk_userns_rm_rf(const struct husk_idmap *m, const char *path, struct husk_error *err)
{
	int r = rm_rf(path);
	if (r == 0)
		return 0;
	if (!m)
		return husk_error_sys(err, r, "remove %s", path);
	return husk_userns_run(m, rm_in_userns, (void *)path, err);
}
