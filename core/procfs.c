#include "procfs.h"
#include "fs.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

struct proc_start {
	pid_t pid;
	uint64_t start;
};

static int cmp_start(const void *a, const void *b)
{
	const struct proc_start *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static bool ns_of(pid_t pid, struct stat *st)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return stat(path, st) == 0;
}

int husk_proc_ns_pids(pid_t pid, pid_t **pids, size_t *n)
{
	struct stat ns, other;
	*pids = NULL;
	*n = 0;
	if (!ns_of(pid, &ns))
		return errno == ENOENT ? 0 : -errno;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct proc_start *v = NULL;
	size_t k = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t p = (pid_t)atoi(de->d_name);
		struct husk_proc_stat ps;
		if (!ns_of(p, &other) || other.st_ino != ns.st_ino || other.st_dev != ns.st_dev ||
		    husk_proc_stat(p, &ps) < 0)
			continue;
		if (k == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[k++] = (struct proc_start){.pid = p, .start = ps.start};
	}
	closedir(d);
	qsort(v, k, sizeof *v, cmp_start);
	*pids = xcalloc(k ? k : 1, sizeof **pids);
	for (size_t i = 0; i < k; i++)
		(*pids)[i] = v[i].pid;
	*n = k;
	free(v);
	return 0;
}

int husk_parse_proc_stat(const char *text, struct husk_proc_stat *st)
{
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	const char *p = strrchr(text, ')');
	unsigned long long f[20];
	char state;
	memset(st, 0, sizeof *st);
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
	 * cutime cstime priority nice threads itrealvalue starttime */
	if (!p ||
	    sscanf(p + 1,
		   " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
		   "%llu %llu %llu %llu %llu %llu",
		   &state, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
		   &f[10], &f[11], &f[12], &f[13], &f[14], &f[15], &f[16], &f[17], &f[18]) != 20)
		return -EINVAL;
	st->state = state;
	st->ppid = (pid_t)f[0];
	st->flags = (unsigned long)f[5];
	st->utime = f[10];
	st->stime = f[11];
	st->cutime = f[12];
	st->cstime = f[13];
	st->threads = f[16];
	st->start = f[18];
	return 0;
}

int husk_proc_stat(pid_t pid, struct husk_proc_stat *st)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *buf = NULL;
	int r = read_file(path, &buf, NULL, 4096);
	return r < 0 ? r : husk_parse_proc_stat(buf, st);
}

int husk_parse_keyed(const char *text, const char *key, uint64_t *value)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ':') {
			*value = strtoull(l + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

int husk_parse_proc_cpu(const char *text, uint64_t *ticks, unsigned *cpus)
{
	unsigned long long f[7];
	*cpus = 0;
	if (sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3],
		   &f[4], &f[5], &f[6]) != 7)
		return -EINVAL;
	*ticks = 0;
	for (int i = 0; i < 7; i++)
		*ticks += f[i];
	for (const char *l = strchr(text, '\n'); l; l = strchr(l + 1, '\n'))
		if (strncmp(l + 1, "cpu", 3) == 0 && isdigit((unsigned char)l[4]))
			(*cpus)++;
	return 0;
}

json_t *husk_parse_net_dev(const char *text)
{
	static const char *const rx[] = {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped"};
	static const char *const tx[] = {"tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};
	json_t *nets = json_object();
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *colon = strchr(l, ':');
		const char *eol = strchr(l, '\n');
		if (!colon || (eol && colon > eol))
			continue; /* the two header lines */
		while (*l == ' ')
			l++;
		unsigned long long v[16];
		if (sscanf(colon + 1,
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			   "%llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
			   &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
			continue;
		json_t *o = json_object();
		for (int i = 0; i < 4; i++) {
			json_object_set_new(o, rx[i], json_integer((json_int_t)v[i]));
			json_object_set_new(o, tx[i], json_integer((json_int_t)v[8 + i]));
		}
		_cleanup_free_ char *name = xstrndup(l, (size_t)(colon - l));
		json_object_set_new(nets, name, o);
	}
	return nets;
}

uint64_t husk_ticks_ns(uint64_t ticks)
{
	static long hz;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	return ticks * (1000000000ULL / (uint64_t)hz);
}
