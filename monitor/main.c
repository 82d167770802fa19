/* husk-monitor: started by husk-api for one container, it becomes the container's parent
 * (and subreaper), holds its stdio, writes its log, serves attach, records its exit, removes it
 * when asked to, and exits when the container is gone. */
#include "monitor.h"

#include "core/cgroup.h"
#include "core/container.h"
#include "core/events.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/monitor_proto.h"
#include "core/spec.h"
#include "core/volume.h"
#include "husk-config.h"

#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#define MAX_ATTACH 16

void watch_add(struct monitor *m, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		husk_log(LOG_ERR, "epoll add %d: %m", w->fd);
}

void watch_mod(struct monitor *m, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	epoll_ctl(m->ep, EPOLL_CTL_MOD, w->fd, &ev);
}

void watch_del(struct monitor *m, struct watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(m->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

int monitor_kill(struct monitor *m, int sig, struct husk_error *err)
{
	if (m->phase != PHASE_RUNNING || m->pid <= 0)
		return husk_error_set(err, -EBUSY, "container %s is not running", m->id);
	if (kill(m->pid, sig) < 0)
		return husk_error_sys(err, -errno, "kill");
	if (m->paused)
		monitor_unpause(m, NULL);
	return 0;
}

int monitor_stop(struct monitor *m, int sig, int timeout_s)
{
	if (m->phase != PHASE_RUNNING)
		return 0;
	kill(m->pid, sig);
	if (m->paused)
		monitor_unpause(m, NULL);
	if (timeout_s < 0)
		return 0;
	if (m->timer.fd < 0) {
		m->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		m->timer.fn = NULL;
		if (m->timer.fd < 0)
			return -errno;
		watch_add(m, &m->timer, EPOLLIN);
	}
	/* A second stop with a shorter timeout wins; a longer one does not extend. */
	struct itimerspec cur, its = {.it_value = {.tv_sec = timeout_s, .tv_nsec = timeout_s ? 0 : 1}};
	timerfd_gettime(m->timer.fd, &cur);
	if (cur.it_value.tv_sec || cur.it_value.tv_nsec) {
		if (cur.it_value.tv_sec < its.it_value.tv_sec ||
		    (cur.it_value.tv_sec == its.it_value.tv_sec &&
		     cur.it_value.tv_nsec <= its.it_value.tv_nsec))
			return 0;
	}
	timerfd_settime(m->timer.fd, 0, &its, NULL);
	return 0;
}

static void on_timer(struct monitor *m, struct watch *w, uint32_t events)
{
	uint64_t n;
	(void)!read(w->fd, &n, sizeof n);
	if (m->phase == PHASE_RUNNING && m->pid > 0) {
		husk_log(LOG_INFO, "container %.12s did not stop in time: SIGKILL", m->id);
		kill(m->pid, SIGKILL);
	}
}

int monitor_stop_signal(const struct monitor *m)
{
	int sig = parse_signal(jstr(jobj(m->doc, "Config"), "StopSignal"));
	return sig > 0 ? sig : SIGTERM;
}

void monitor_save_state(struct monitor *m, bool persist)
{
	int r = husk_state_save(&m->store, m->id, &m->state, persist);
	if (r < 0)
		husk_log(LOG_ERR, "cannot record the state of %.12s: %s", m->id, strerror(-r));
}

static void on_exit_status(struct monitor *m, int status)
{
	m->state.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	m->state.finished_ns = now_ns();
	m->pid = 0;
	m->phase = PHASE_DRAINING;
	/* What the container's processes wrote before dying is still in the pipes. */
	m->drain_deadline_ms = mono_ms() + 2000;
	husk_log(LOG_DEBUG, "container %.12s exited with %d", m->id, m->state.exit_code);
}

static void on_signal(struct monitor *m, struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			/* Asked to go (the service manager stopping our scope): stop the container
			 * as `docker stop` would, and record its exit. */
			int64_t t = jint(jobj(m->doc, "Config"), "StopTimeout", 10);
			if (!restart_shutdown(m))
				monitor_stop(m, monitor_stop_signal(m), (int)t);
		}
	}
	int status;
	pid_t pid;
	/* As subreaper we also collect orphans (processes re-parented to us). */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->pid)
			on_exit_status(m, status);
		else if (!health_on_child_exit(m, pid, status))
			exec_reap(m, pid, status);
	}
}

void monitor_emit(struct monitor *m, const char *action, const char *key, const char *value)
{
	json_t *attrs = husk_event_container_attrs(m->doc);
	if (key)
		json_object_set_new(attrs, key, json_string(value));
	husk_event_emit(&m->store, "container", action, m->id, attrs);
}

static void close_stdio(struct monitor *m)
{
	struct watch *ws[] = {&m->out, &m->err, &m->in};
	for (size_t i = 0; i < ARRAY_SIZE(ws); i++) {
		if (ws[i]->fd < 0)
			continue;
		watch_del(m, ws[i]);
		close(ws[i]->fd);
		/* The pty master serves as both output and input. */
		if (ws[i] == &m->out && m->in.fd == m->out.fd)
			m->in.fd = -1;
		ws[i]->fd = -1;
	}
	m->in_len = 0;
}

/* The exit, whatever follows it: the die event, the count wait?condition=next-exit watches,
 * no more probes, no pending SIGKILL of a stop. */
static void record_exit(struct monitor *m)
{
	char code[16], ran[24];
	health_stop(m);
	close_stdio(m);
	if (m->timer.fd >= 0) {
		struct itimerspec off = {0};
		timerfd_settime(m->timer.fd, 0, &off, NULL);
	}
	cgroup_check_oom(m); /* "oom" comes before "die" */
	snprintf(code, sizeof code, "%d", m->state.exit_code);
	snprintf(ran, sizeof ran, "%lld",
		 (long long)((m->state.finished_ns - m->state.started_ns) / 1000000000));
	json_t *attrs = husk_event_container_attrs(m->doc);
	json_object_set_new(attrs, "exitCode", json_string(code));
	json_object_set_new(attrs, "execDuration", json_string(ran));
	husk_event_emit(&m->store, "container", "die", m->id, attrs);
	husk_volume_mount_events(&m->store, m->doc, "unmount");
	if (m->paused)
		monitor_unpause(m, NULL);
	m->state.exit_count++;
	m->state.pid = 0;
}

void monitor_finish(struct monitor *m)
{
	m->state.status = HUSK_EXITED;
	m->state.pid = 0;
	m->state.removing = m->auto_remove;
	monitor_save_state(m, true);
	control_answer_waiters(m);
	io_close_clients(m);
	exec_close_all(m);
	husk_logw_close(&m->log);
	m->phase = PHASE_DONE;
	if (m->auto_remove) {
		struct husk_error err = {0};
		_cleanup_store_lock_ int lock = husk_store_lock(&m->store);
		/* --rm takes the anonymous volumes along, as docker rm -v. */
		husk_volumes_remove_anonymous(&m->store, &m->idmap, m->doc);
		if (husk_container_remove_files(&m->store, &m->idmap, m->id, &err) < 0)
			husk_log(LOG_ERR, "cannot remove container %.12s: %s", m->id, err.message);
		else
			monitor_emit(m, "destroy", NULL, NULL);
	}
}

/* dl_iterate_phdr's callback: our program's PT_GNU_RELRO, as addresses. */
static int find_relro(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	unsigned long *relro = data;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
			relro[0] = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			relro[1] = relro[0] + info->dlpi_phdr[i].p_memsz;
		}
	return 1; /* the first object is the program itself */
}

/* Once the container runs, most of our code (mounts, seccomp with its syscall tables for every
 * architecture, capabilities) will not run again in this process: drop the pages of our
 * read-only mappings. They are file-backed, so whatever the loop does need faults back in;
 * the rest stops counting against the container for its whole life. Except the RELRO part
 * (GOT, .data.rel.ro): relocated at load, then made read-only, its pages are private copies;
 * dropped, they would fault back in as the file's unrelocated bytes, and a position-independent
 * monitor (the dynamic one of builds without static libraries, or of the sanitizers) would
 * call through null pointers. */
static void release_setup_pages(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	char line[512], self[256];
	unsigned long relro[2] = {0, 0};
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (!f || n <= 0)
		return;
	self[n] = 0;
	dl_iterate_phdr(find_relro, relro);
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[5];
		int off = 0;
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &off) < 3 || !off)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (perms[1] == 'w' || !streq(line + off, self) || (lo < relro[1] && hi > relro[0]))
			continue;
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
}

/* A monitor started for the next run (docker restart) may already listen at the path. */
static void unlink_own_socket(struct monitor *m)
{
	_cleanup_free_ char *sock = husk_mon_socket_path(&m->store, m->id);
	struct stat path_st, own;
	if (m->ctl.fd >= 0 && fstat(m->ctl.fd, &own) == 0 && stat(sock, &path_st) == 0 &&
	    path_st.st_ino != own.st_ino)
		return;
	unlink(sock);
}

static void loop(struct monitor *m)
{
	struct epoll_event evs[16];
	for (;;) {
		if (m->phase == PHASE_DRAINING &&
		    ((!io_output_open(m) && io_clients_flushed(m) && !exec_busy(m)) ||
		     mono_ms() > m->drain_deadline_ms)) {
			record_exit(m);
			if (!restart_after_exit(m))
				monitor_finish(m);
		}
		if (m->phase == PHASE_DONE)
			return;
		int timeout = m->phase == PHASE_DRAINING ? 50 : -1;
		int n = epoll_wait(m->ep, evs, ARRAY_SIZE(evs), timeout);
		if (n < 0 && errno != EINTR) {
			husk_log(LOG_ERR, "epoll_wait: %m");
			return;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w == &m->timer)
				on_timer(m, w, evs[i].events);
			else if (w->fn)
				w->fn(m, w, evs[i].events);
		}
		exec_collect(m);
	}
}

struct args {
	const char *id, *data, *run, *idmap, *cgroup_root;
	int sync_fd;
	int lock_fd; /* the container's start lock, held with husk-api until our report */
	int attach_fd[MAX_ATTACH];
	unsigned attach_flags[MAX_ATTACH];
	int n_attach;
	bool verbose;
	bool scope;
	bool version;
};

enum { ATTACH_IN = 1, ATTACH_OUT = 2, ATTACH_ERR = 4, ATTACH_LOGS = 8 };

static int parse_attach(const char *s, struct args *a)
{
	char *end;
	long fd = strtol(s, &end, 10);
	if (fd < 3 || *end != ':' || a->n_attach >= MAX_ATTACH)
		return -EINVAL;
	unsigned f = 0;
	for (const char *p = end + 1; *p; p++)
		f |= *p == 'i' ? ATTACH_IN : *p == 'o' ? ATTACH_OUT : *p == 'e' ? ATTACH_ERR
					 : *p == 'l' ? ATTACH_LOGS : 0;
	a->attach_fd[a->n_attach] = (int)fd;
	a->attach_flags[a->n_attach++] = f;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},	     {"data-dir", required_argument, NULL, 'd'},
		{"run-dir", required_argument, NULL, 'r'},   {"sync-fd", required_argument, NULL, 's'},
		{"attach-fd", required_argument, NULL, 'a'}, {"verbose", no_argument, NULL, 'v'},
		{"scope", no_argument, NULL, 'S'},	     {"idmap", required_argument, NULL, 'm'},
		{"cgroup-root", required_argument, NULL, 'c'},
		{"lock-fd", required_argument, NULL, 'l'},   {"version", no_argument, NULL, 'V'},
		{0},
	};
	memset(a, 0, sizeof *a);
	a->sync_fd = a->lock_fd = -1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			a->id = optarg;
			break;
		case 'd':
			a->data = optarg;
			break;
		case 'r':
			a->run = optarg;
			break;
		case 's':
			a->sync_fd = atoi(optarg);
			break;
		case 'l':
			a->lock_fd = atoi(optarg);
			break;
		case 'a':
			if (parse_attach(optarg, a) < 0)
				return -EINVAL;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'S':
			a->scope = true;
			break;
		case 'm':
			a->idmap = optarg;
			break;
		case 'c':
			a->cgroup_root = optarg;
			break;
		case 'V':
			a->version = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return a->version || (a->id && husk_is_full_id(a->id)) ? 0 : -EINVAL;
}

/* --version names the C library too: husk-monitor is built with glibc or, on its own, with
 * musl (-Dmonitor_only, contrib/build-musl-deps), and tests/run shows which one it tests. */
static void print_version(void)
{
#ifdef __GLIBC__
	printf("husk-monitor %s (glibc %s)\n", HUSK_VERSION, gnu_get_libc_version());
#else
	printf("husk-monitor %s (musl)\n", HUSK_VERSION); /* musl has no macro naming it */
#endif
}

static void report(int sync_fd, json_t *msg)
{
	if (sync_fd < 0) {
		json_decref(msg);
		return;
	}
	_cleanup_free_ char *s = json_compact(msg);
	json_decref(msg);
	size_t n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	write_all(sync_fd, s, n + 1);
	close(sync_fd);
}

/* Under systemd, husk-api moves us into a transient scope of our own before the container
 * starts (it has sd-bus; we stay small): we ask on the handshake socket and wait for the
 * answer. Not fatal: without the scope we are still in our own session, and only stopping
 * husk.service with KillMode=control-group would reach us; but the container then gets no
 * cgroup of its own (why says why). */
static bool ask_for_scope(int sync_fd, char *why, size_t n)
{
	char line[512];
	int len = snprintf(line, sizeof line, "{\"scope\":%d}\n", (int)getpid());
	snprintf(why, n, "husk-api did not answer the request for a systemd scope");
	if (sync_fd < 0 || write_all(sync_fd, line, (size_t)len) < 0)
		return false;
	ssize_t k = read(sync_fd, line, sizeof line - 1);
	if (k <= 0)
		return false;
	line[k] = 0;
	line[strcspn(line, "\n")] = 0;
	if (streq(line, "ok"))
		return true;
	husk_log(LOG_WARNING, "no systemd scope: %s", line);
	snprintf(why, n, "no systemd scope for the container: %s", line);
	return false;
}

/* Where the container's cgroup goes: our scope, the configured root, or nowhere. */
static int setup_cgroup(struct monitor *m, struct args *a, struct husk_error *err)
{
	char why[640];
	if (a->scope && ask_for_scope(a->sync_fd, why, sizeof why)) {
		_cleanup_free_ char *scope = husk_cgroup_dir(getpid());
		if (scope)
			return cgroup_setup(m, HUSK_CGROUP_SYSTEMD, scope, NULL, err);
		snprintf(why, sizeof why, "the systemd scope's cgroup is not delegated to this user");
	} else if (!a->scope && !str_empty(a->cgroup_root)) {
		return cgroup_setup(m, HUSK_CGROUP_CGROUPFS, a->cgroup_root, NULL, err);
	} else if (!a->scope) {
		snprintf(why, sizeof why,
			 "no cgroup v2 is delegated to husk: husk-api was not started by systemd, "
			 "and no cgroup root is configured (husk-api --cgroup-root, "
			 "HUSK_CGROUP_ROOT)");
	}
	return cgroup_setup(m, HUSK_CGROUP_NONE, NULL, why, err);
}

static int open_stdio(struct monitor *m, struct husk_stdio *io)
{
	io->in = io->out = io->err = -1;
	if (m->spec.tty)
		return 0;
	int p[2];
	if (m->spec.open_stdin) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		io->in = p[0];
		m->in.fd = p[1];
		fcntl(p[1], F_SETFL, O_NONBLOCK);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	m->out.fd = p[0];
	io->out = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	m->err.fd = p[0];
	io->err = p[1];
	return 0;
}

static void close_child_ends(struct husk_stdio *io)
{
	if (io->in >= 0)
		close(io->in);
	if (io->out >= 0)
		close(io->out);
	if (io->err >= 0)
		close(io->err);
}

int monitor_run(struct monitor *m, struct husk_error *err)
{
	struct husk_stdio io;
	int r = open_stdio(m, &io);
	if (r < 0) {
		close_child_ends(&io);
		close_stdio(m);
		return husk_error_sys(err, r, "cannot create the container's stdio");
	}
	struct husk_process proc;
	r = husk_runtime_start(&m->spec, &m->idmap, &io, &proc, err);
	close_child_ends(&io);
	if (r < 0) {
		close_stdio(m);
		return r;
	}
	m->pid = proc.pid;
	m->phase = PHASE_RUNNING;
	if (proc.pty_master >= 0) {
		fcntl(proc.pty_master, F_SETFL, O_NONBLOCK);
		m->out.fd = proc.pty_master;
		m->in.fd = proc.pty_master;
	}
	m->out.fn = io_on_output;
	m->err.fn = io_on_output;
	m->in.fn = io_on_stdin_writable;
	if (m->out.fd >= 0) {
		fcntl(m->out.fd, F_SETFL, fcntl(m->out.fd, F_GETFL) | O_NONBLOCK);
		watch_add(m, &m->out, EPOLLIN);
	}
	if (m->err.fd >= 0) {
		fcntl(m->err.fd, F_SETFL, O_NONBLOCK);
		watch_add(m, &m->err, EPOLLIN);
	}
	if (m->in.fd >= 0 && m->in.fd != m->out.fd)
		watch_add(m, &m->in, 0);
	return 0;
}

void monitor_running(struct monitor *m)
{
	m->state.status = HUSK_RUNNING;
	m->state.pid = m->pid;
	m->state.pid_start = husk_pid_start_time(m->pid);
	m->state.started_ns = now_ns();
	m->state.finished_ns = 0;
	m->state.exit_code = 0;
	m->state.error[0] = 0;
	cgroup_run_started(m);
	health_start(m);
	monitor_save_state(m, true);
	husk_volume_mount_events(&m->store, m->doc, "mount");
	monitor_emit(m, "start", NULL, NULL);
}

static int start(struct monitor *m, struct args *a, struct husk_error *err)
{
	int r = setup_cgroup(m, a, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *logpath = husk_store_data_path(&m->store, "containers/%s/container.log",
							    m->id);
	r = husk_logw_open(&m->log, logpath);
	if (r < 0)
		return husk_error_sys(err, r, "cannot open the log %s", logpath);
	/* Attached clients are connected before the process starts: nothing is missed. */
	for (int i = 0; i < a->n_attach; i++) {
		unsigned f = a->attach_flags[i];
		io_attach(m, a->attach_fd[i], f & ATTACH_IN, f & ATTACH_OUT, f & ATTACH_ERR,
			  f & ATTACH_LOGS);
	}
	return monitor_run(m, err);
}

static int setup(struct monitor *m, struct args *a, struct husk_error *err)
{
	int r = husk_store_open(&m->store, a->data, a->run, err);
	if (r < 0)
		return r;
	if (husk_idmap_parse(str_or(a->idmap, ""), &m->idmap) < 0)
		return husk_error_set(err, -EINVAL, "invalid --idmap \"%s\"", str_or(a->idmap, ""));
	snprintf(m->id, sizeof m->id, "%s", a->id);
	_cleanup_free_ char *cfg = husk_store_data_path(&m->store, "containers/%s/config.json",
							m->id);
	m->doc = json_load_path(cfg, 16 << 20, err);
	if (!m->doc)
		return -ENOENT;
	r = husk_spec_from_config(&m->store, m->doc, &m->spec, err);
	if (r < 0)
		return r;
	m->auto_remove = jbool(jobj(m->doc, "HostConfig"), "AutoRemove", false);
	m->stdin_once = jbool(jobj(m->doc, "Config"), "StdinOnce", false);
	husk_state_load(&m->store, m->id, &m->state);

	_cleanup_free_ char *rundir = husk_store_run_path(&m->store, "containers/%s", m->id);
	mkdir_p(rundir, 0700);
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->ep < 0)
		return husk_error_sys(err, -errno, "epoll");
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m->sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m->sig.fn = on_signal;
	watch_add(m, &m->sig, EPOLLIN);
	restart_init(m);
	health_init(m);
	r = control_listen(m);
	if (r < 0)
		return husk_error_sys(err, r, "cannot listen on the monitor socket");
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: husk-monitor --id ID --data-dir DIR --run-dir DIR "
				"--idmap UID:GID:SUBUID:N:SUBGID:N [--sync-fd FD] "
				"[--attach-fd FD:ioel]... [--lock-fd FD] [--scope | --cgroup-root DIR]\n"
				"       husk-monitor --version\n"
				"husk-monitor is started by husk-api, one per container.\n");
		return 2;
	}
	if (a.version) {
		print_version();
		return 0;
	}
	husk_log_init("husk-monitor", a.verbose || getenv("HUSK_DEBUG"));
	/* Nothing we start (newuidmap, the container) keeps the start lock. */
	if (a.lock_fd >= 0)
		fcntl(a.lock_fd, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	static struct monitor m;
	m.out.fd = m.err.fd = m.in.fd = m.timer.fd = m.ctl.fd = m.sig.fd = m.oom.fd = -1;
	m.log.fd = -1;
	struct husk_error err = {0};
	int r = setup(&m, &a, &err);
	if (r == 0) {
		exec_init(&m);
		r = start(&m, &a, &err);
	}
	if (r < 0) {
		int code = r == -ENOENT ? 127 : r == -EACCES ? 126 : 128;
		husk_log(LOG_ERR, "container %.12s: %s", a.id, err.message);
		/* As Docker: a container that could not start stays "created" with the error and
		 * exit code recorded, and is removed when it was to be removed at exit. */
		if (m.doc) {
			m.state.status = HUSK_CREATED;
			m.state.exit_code = code;
			snprintf(m.state.error, sizeof m.state.error, "%s", err.message);
			m.state.exit_count++;
			m.state.finished_ns = now_ns();
			monitor_save_state(&m, true);
		}
		report(a.sync_fd, json_pack("{s:b, s:i, s:s, s:i}", "ok", 0, "code", err.code,
					    "message", err.message, "exitCode", code));
		if (a.lock_fd >= 0)
			close(a.lock_fd);
		io_close_clients(&m);
		cgroup_cleanup(&m);
		if (m.auto_remove) {
			_cleanup_store_lock_ int lock = husk_store_lock(&m.store);
			husk_volumes_remove_anonymous(&m.store, &m.idmap, m.doc);
			if (husk_container_remove_files(&m.store, &m.idmap, m.id, NULL) == 0)
				monitor_emit(&m, "destroy", NULL, NULL);
		} else {
			_cleanup_free_ char *sock = husk_mon_socket_path(&m.store, m.id);
			unlink(sock);
		}
		return 1;
	}

	/* A start by the user: the restart count and the user's last stop start over. */
	m.state.monitor_pid = getpid();
	m.state.monitor_start = husk_pid_start_time(getpid());
	husk_boot_id(m.state.boot_id);
	m.state.restart_count = 0;
	m.state.manually_stopped = false;
	monitor_running(&m);
	report(a.sync_fd, json_pack("{s:b, s:i, s:i}", "ok", 1, "pid", (int)m.pid, "monitorPid",
				    (int)getpid()));
	if (a.lock_fd >= 0)
		close(a.lock_fd);

	release_setup_pages();
	loop(&m);
	cgroup_cleanup(&m);
	if (!m.auto_remove)
		unlink_own_socket(&m);
	return 0;
}
