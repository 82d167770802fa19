/* core/seccomp.c: each load runs in a forked child (a filter cannot be unloaded), which sets
 * no_new_privs as husk's container child does, loads, tries syscalls and reports its failed
 * checks through its exit status. Runs as root and as an unprivileged user. */
#include "core/seccomp.h"
#include "test.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOCKER_CAPS UINT64_C(0xa80425fb) /* Docker's default capability set */
#define CAP(c) (UINT64_C(1) << (c))

/* Profiles are written with ' for " to stay readable. */
static char *profile(const char *s)
{
	char *p = strdup(s);
	for (char *c = p; *c; c++)
		if (*c == '\'')
			*c = '"';
	return p;
}

/* Runs fn in a child under the profile; the child must exit 0, or die of signal sig. */
static void run_in_child(const char *what, const char *json, uint64_t caps, int sig,
			 void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		test_failures++;
		return;
	}
	if (pid == 0) {
		struct husk_error err = {0};
		test_failures = 0;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(101);
		if (husk_seccomp_load(json, caps, &err) < 0) {
			fprintf(stderr, "%s: load: %s\n", what, err.message);
			_exit(102);
		}
		fn();
		/* _exit: no atexit handlers (LeakSanitizer's would need ptrace) */
		_exit(test_failures > 100 ? 100 : test_failures);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bool ok = sig ? WIFSIGNALED(status) && WTERMSIG(status) == sig
		      : WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		fprintf(stderr, "%s: child %s %d\n", what,
			WIFSIGNALED(status) ? "killed by signal" : "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		test_failures++;
	}
}

/* raw clone(2) with fork semantics; the child, if the filter lets it be, exits at once. */
static long raw_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static int run_true(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void default_denies(void)
{
	CHECK_ERRNO(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_add_key, "user", "husk", "x", 1, KEY_SPEC_SESSION_KEYRING), EPERM);
	/* a foreign arch in flags: without the filter, EINVAL (or EPERM for lack of privilege) */
	CHECK_ERRNO(syscall(SYS_kexec_load, 0, 0, NULL, 40UL << 16), EPERM);
	CHECK_ERRNO(syscall(SYS_open_by_handle_at, -1, NULL, O_RDONLY), EPERM);
	CHECK_ERRNO(syscall(SYS_personality, 0x0040000UL), EPERM); /* ADDR_NO_RANDOMIZE */
	CHECK_ERRNO(syscall(SYS_personality, 0x0008UL | 0x0040000UL), EPERM);
	CHECK_ERRNO(raw_clone(CLONE_NEWUSER), EPERM);
	CHECK_ERRNO(raw_clone(CLONE_NEWNS), EPERM);
	CHECK_ERRNO(syscall(SYS_clone3, NULL, 0), ENOSYS); /* errnoRet 38 */
	CHECK_ERRNO(syscall(SYS_unshare, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_unshare, CLONE_NEWNS), EPERM);
	CHECK_ERRNO(syscall(SYS_mount, NULL, "/nonexistent", NULL, 0, NULL), EPERM);
	CHECK_ERRNO(syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_socket, 38 /* AF_ALG */, SOCK_SEQPACKET, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_bpf, 0, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_syslog, 10, NULL, 0), EPERM); /* no CAP_SYSLOG */
	CHECK_ERRNO(syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, 1, 0, 0), EPERM);
#ifdef SYS_iopl
	CHECK_ERRNO(syscall(SYS_iopl, 0), EPERM);
#endif
	/* beyond every syscall the profile names: ENOSYS (runc's stub), not EPERM */
	CHECK_ERRNO(syscall(1000), ENOSYS);
}

static void default_allows(void)
{
	char buf[4];
	int fd;
	CHECK(syscall(SYS_getpid) == getpid());
	CHECK_OK(fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC));
	CHECK(syscall(SYS_read, fd, buf, sizeof buf) == 0);
	CHECK(syscall(SYS_write, fd, "x", 1) == 1);
	CHECK_OK(close(fd));
	CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0); /* query */
	CHECK(syscall(SYS_personality, 0UL) >= 0);	   /* PER_LINUX */
	CHECK_OK(raw_clone(0));
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);
	CHECK(run_true() == 0); /* execve */
	CHECK_OK(fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	close(fd);
	CHECK_ERRNO(syscall(SYS_chroot, "/nonexistent"), ENOENT); /* CAP_SYS_CHROOT */
}

static void test_default_profile(void)
{
	run_in_child("default denies", NULL, DOCKER_CAPS, 0, default_denies);
	run_in_child("default allows", NULL, DOCKER_CAPS, 0, default_allows);
}

static void sys_admin_allows(void)
{
	CHECK(syscall(SYS_unshare, 0) == 0);
	if (geteuid() == 0)
		CHECK(syscall(SYS_unshare, CLONE_NEWNS) == 0);
	/* allowed: the kernel itself rejects a NULL, zero-sized clone_args */
	CHECK_ERRNO(syscall(SYS_clone3, NULL, 0), EINVAL);
	CHECK_ERRNO(syscall(SYS_mount, NULL, "/nonexistent", NULL, 0, NULL), ENOENT);
	CHECK_ERRNO(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM);
}

static void dac_read_search_allows(void)
{
	errno = 0;
	CHECK(syscall(SYS_open_by_handle_at, -1, NULL, O_RDONLY) == -1 && errno != EPERM);
}

static void test_capabilities(void)
{
	run_in_child("CAP_SYS_ADMIN", NULL, DOCKER_CAPS | CAP(CAP_SYS_ADMIN), 0, sys_admin_allows);
	if (geteuid() == 0) /* unprivileged, the kernel itself says EPERM */
		run_in_child("CAP_DAC_READ_SEARCH", NULL, DOCKER_CAPS | CAP(CAP_DAC_READ_SEARCH), 0,
			     dac_read_search_allows);
}

static void errno_rules(void)
{
	CHECK_ERRNO(syscall(SYS_getppid), 99);
	CHECK_ERRNO(syscall(SYS_getpgrp), EPERM); /* ERRNO without errnoRet */
	CHECK_ERRNO(syscall(SYS_getsid, 0), 98);  /* "name" */
	CHECK(syscall(SYS_getpid) == getpid());
}

static void test_custom_errno(void)
{
	char *p = profile("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
			  "{'names': ['getppid', 'no_such_syscall'], 'action': 'SCMP_ACT_ERRNO',"
			  " 'errnoRet': 99},"
			  "{'names': ['getpgrp'], 'action': 'SCMP_ACT_ERRNO'},"
			  "{'name': 'getsid', 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 98},"
			  "{'names': ['getuid'], 'action': 'SCMP_ACT_ALLOW'}]}");
	run_in_child("custom errno", p, 0, 0, errno_rules);
	free(p);
}

static void kill_rule(void)
{
	syscall(SYS_getppid);
	fprintf(stderr, "getppid survived SCMP_ACT_KILL_PROCESS\n");
}

static void test_kill(void)
{
	char *p = profile("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
			  "{'names': ['getppid'], 'action': 'SCMP_ACT_KILL_PROCESS'}]}");
	run_in_child("kill process", p, 0, SIGSYS, kill_rule);
	free(p);
}

static void arg_rules(void)
{
	CHECK_ERRNO(syscall(SYS_getpgid, 12345), 42); /* EQ */
	CHECK_OK(syscall(SYS_getpgid, 0));
	CHECK_ERRNO(syscall(SYS_umask, 0777), 43); /* MASKED_EQ: (mode & 0700) == 0700 */
	CHECK_ERRNO(syscall(SYS_umask, 0755), 43);
	CHECK_OK(syscall(SYS_umask, 022));
	CHECK_ERRNO(syscall(SYS_lseek, 1000, 0, SEEK_CUR), 44); /* fd EQ 1000 AND whence EQ 1 */
	CHECK_ERRNO(syscall(SYS_lseek, 1000, 0, SEEK_SET), EBADF);
	CHECK_ERRNO(syscall(SYS_lseek, 1001, 0, SEEK_CUR), EBADF);
	CHECK_ERRNO(syscall(SYS_getsid, 111), 45); /* two conditions on arg 0: each a rule */
	CHECK_ERRNO(syscall(SYS_getsid, 222), 45);
	CHECK_OK(syscall(SYS_getsid, 0));
	CHECK_ERRNO(syscall(SYS_getpriority, PRIO_PROCESS, 6000), 46); /* GT */
	CHECK_OK(syscall(SYS_getpriority, PRIO_PROCESS, 0));
	CHECK_ERRNO(syscall(SYS_setpgid, 0, 7), 47); /* NE 0 AND LE 7 on arg 1 and arg 0 */
	CHECK_OK(syscall(SYS_setpgid, 0, 0));
}

static void test_args(void)
{
	char *p = profile(
		"{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
		"{'names': ['getpgid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 42,"
		" 'args': [{'index': 0, 'value': 12345, 'op': 'SCMP_CMP_EQ'}]},"
		"{'names': ['umask'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 43,"
		" 'args': [{'index': 0, 'value': 448, 'valueTwo': 448, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
		"{'names': ['lseek'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 44,"
		" 'args': [{'index': 0, 'value': 1000, 'op': 'SCMP_CMP_EQ'},"
		"          {'index': 2, 'value': 1, 'op': 'SCMP_CMP_EQ'}]},"
		"{'names': ['getsid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 45,"
		" 'args': [{'index': 0, 'value': 111, 'op': 'SCMP_CMP_EQ'},"
		"          {'index': 0, 'value': 222, 'op': 'SCMP_CMP_EQ'}]},"
		"{'names': ['getpriority'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 46,"
		" 'args': [{'index': 1, 'value': 5000, 'op': 'SCMP_CMP_GT'}]},"
		"{'names': ['setpgid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 47,"
		" 'args': [{'index': 1, 'value': 0, 'op': 'SCMP_CMP_NE'},"
		"          {'index': 0, 'value': 7, 'op': 'SCMP_CMP_LE'}]}]}");
	run_in_child("argument rules", p, 0, 0, arg_rules);
	free(p);
}

static void cond_rules(void)
{
	CHECK(syscall(SYS_getppid) == getppid()); /* includes.minKernel 255.255: skipped */
	CHECK_ERRNO(syscall(SYS_getpgrp), 51);	  /* includes.minKernel 3.0: applied */
	CHECK_OK(syscall(SYS_getsid, 0));	  /* excludes.minKernel 1.0: skipped */
	CHECK_OK(syscall(SYS_getuid));		  /* includes.arches s390x: skipped */
	CHECK_ERRNO(syscall(SYS_getgid), 53);	  /* excludes.arches s390x: applied */
	CHECK_ERRNO(syscall(SYS_geteuid), 54);	  /* includes.caps CAP_SYS_ADMIN: held */
	CHECK_OK(syscall(SYS_getegid));		  /* includes.caps SYS_ADMIN and NET_ADMIN */
	CHECK_OK(syscall(SYS_getpgid, 0));	  /* excludes.caps CAP_SYS_ADMIN: held */
	CHECK_OK(syscall(SYS_gettid));		  /* includes.caps CAP_NO_SUCH: never held */
	CHECK_ERRNO(syscall(SYS_getresuid, NULL, NULL, NULL), 55); /* excludes.caps unknown */
}

static void test_conditions(void)
{
	char *p = profile(
		"{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
		"{'names': ['getppid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 50,"
		" 'includes': {'minKernel': '255.255'}},"
		"{'names': ['getpgrp'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 51,"
		" 'includes': {'minKernel': '3.0'}},"
		"{'names': ['getsid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 52,"
		" 'excludes': {'minKernel': '1.0'}},"
		"{'names': ['getuid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 52,"
		" 'includes': {'arches': ['s390x']}},"
		"{'names': ['getgid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 53,"
		" 'excludes': {'arches': ['s390x']}},"
		"{'names': ['geteuid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 54,"
		" 'includes': {'caps': ['CAP_SYS_ADMIN']}},"
		"{'names': ['getegid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 54,"
		" 'includes': {'caps': ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']}},"
		"{'names': ['getpgid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 54,"
		" 'excludes': {'caps': ['CAP_SYS_ADMIN']}},"
		"{'names': ['gettid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 54,"
		" 'includes': {'caps': ['CAP_NO_SUCH']}},"
		"{'names': ['getresuid'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 55,"
		" 'excludes': {'caps': ['CAP_NO_SUCH']}}]}");
	run_in_child("includes/excludes", p, CAP(CAP_SYS_ADMIN), 0, cond_rules);
	free(p);
}

static void getppid_60(void)
{
	CHECK_ERRNO(syscall(SYS_getppid), 60);
}

static void unconfined(void)
{
	CHECK(syscall(SYS_getppid) == getppid());
	CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
}

static void test_flags_and_disabled(void)
{
	char *p = profile("{'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ["
			  "'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC'],"
			  " 'syscalls': [{'names': ['getppid'], 'action': 'SCMP_ACT_ERRNO',"
			  " 'errnoRet': 60}]}");
	run_in_child("flags", p, 0, 0, getppid_60);
	free(p);
	/* no defaultAction and no syscalls: moby runs the container unconfined */
	run_in_child("empty profile", "{}", 0, 0, unconfined);
}

static void check_invalid(const char *json, const char *message)
{
	struct husk_error err = {0};
	char *p = profile(json);
	int r = husk_seccomp_validate(p, &err);
	if (r != -EINVAL || !strstr(err.message, message)) {
		fprintf(stderr, "validate %s: %d \"%s\", expected -EINVAL \"%s\"\n", json, r,
			err.message, message);
		test_failures++;
	}
	free(p);
}

static void check_valid(const char *json)
{
	struct husk_error err = {0};
	char *p = json ? profile(json) : NULL;
	int r = husk_seccomp_validate(p, &err);
	if (r != 0) {
		fprintf(stderr, "validate %s: %d \"%s\"\n", json ? json : "(default)", r, err.message);
		test_failures++;
	}
	free(p);
}

#define ALLOW "'defaultAction': 'SCMP_ACT_ALLOW'"

static void test_validate(void)
{
	struct husk_error err = {0};
	check_valid(NULL);
	check_valid("{}");
	check_valid("{" ALLOW ", 'flags': ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW',"
		    " 'SECCOMP_FILTER_FLAG_TSYNC']}");
	check_valid("{'defaultAction': 'SCMP_ACT_KILL', 'architectures': ['SCMP_ARCH_X86_64',"
		    " 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64'], 'syscalls': [{'names': ['read'],"
		    " 'action': 'SCMP_ACT_ALLOW'}]}");
	check_valid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]}");

	CHECK(husk_seccomp_validate("{", &err) == -EINVAL);
	CHECK(strstr(err.message, "seccomp profile: invalid JSON: ") == err.message);
	check_invalid("[]", "seccomp profile: not a JSON object");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
		      " {'names': ['write'], 'action': 'SCMP_ACT_FOO'}]}",
		      "seccomp profile: syscalls[1]: unknown action \"SCMP_ACT_FOO\"");
	check_invalid("{'defaultAction': 'SCMP_ACT_FOO'}",
		      "seccomp profile: defaultAction: unknown action \"SCMP_ACT_FOO\"");
	check_invalid("{'syscalls': [{'names': ['read']}]}",
		      "seccomp profile: defaultAction: unknown action \"\"");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO',"
		      " 'args': [{'index': 0, 'value': 1, 'op': 'SCMP_CMP_FOO'}]}]}",
		      "seccomp profile: syscalls[0].args[0]: unknown operator \"SCMP_CMP_FOO\"");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO',"
		      " 'args': [{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}",
		      "seccomp profile: syscalls[0].args[0]: index 6 out of range (0-5)");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO',"
		      " 'args': [{'index': -1, 'op': 'SCMP_CMP_EQ'}]}]}",
		      "syscalls[0].args[0]: \"index\" -1 out of range");
	check_invalid("{" ALLOW ", 'syscalls': [{'name': 'read', 'names': ['write'],"
		      " 'action': 'SCMP_ACT_ERRNO'}]}",
		      "syscalls[0]: both \"name\" and \"names\"");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': 'read', 'action': 'SCMP_ACT_ERRNO'}]}",
		      "syscalls[0]: \"names\" must be an array");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': [''], 'action': 'SCMP_ACT_ERRNO'}]}",
		      "syscalls[0]: \"names\"[0] is empty");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO',"
		      " 'errnoRet': 70000}]}",
		      "syscalls[0]: \"errnoRet\" 70000 out of range (0-65535)");
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_NOTIFY'}]}",
		      "syscalls[0]: SCMP_ACT_NOTIFY is not supported");
	check_invalid("{" ALLOW ", 'listenerPath': '/run/agent.sock'}",
		      "\"listenerPath\" is not supported");
	check_invalid("{" ALLOW ", 'architectures': ['SCMP_ARCH_FOO']}",
		      "seccomp profile: architectures[0]: unknown architecture \"SCMP_ARCH_FOO\"");
	check_invalid("{" ALLOW ", 'archMap': [{'architecture': 'SCMP_ARCH_ARM',"
		      " 'subArchitectures': ['SCMP_ARCH_BAR']}]}",
		      "archMap[0]: unknown architecture \"SCMP_ARCH_BAR\"");
	check_invalid("{" ALLOW ", 'architectures': ['SCMP_ARCH_X86'], 'archMap': [{"
		      "'architecture': 'SCMP_ARCH_X86_64'}]}",
		      "both \"architectures\" and \"archMap\"");
	check_invalid("{" ALLOW ", 'flags': ['SECCOMP_FILTER_FLAG_NEW_LISTENER']}",
		      "unknown or unsupported flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
	/* checked whatever the rule's conditions */
	check_invalid("{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_BAZ',"
		      " 'includes': {'arches': ['s390x'], 'caps': ['CAP_SYS_ADMIN']}}]}",
		      "syscalls[0]: unknown action \"SCMP_ACT_BAZ\"");
	static const char *const kernels[] = {"4", "4.8.1", "0.0", "256.1", "4.x", "-4.8", " 4.8"};
	for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
		char json[256];
		snprintf(json, sizeof json,
			 "{" ALLOW ", 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ERRNO',"
			 " 'includes': {'minKernel': '%s'}}]}",
			 kernels[i]);
		check_invalid(json, "syscalls[0].includes: invalid minKernel");
	}
	char *big = calloc(2 * 1024 * 1024, 1);
	memset(big, ' ', 2 * 1024 * 1024 - 1);
	big[0] = '{';
	CHECK(husk_seccomp_validate(big, &err) == -EINVAL);
	free(big);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Building and loading the default profile happens at every container start. */
static void test_timing(void)
{
	enum { RUNS = 21 };
	double ms[RUNS];
	for (int i = 0; i < RUNS; i++) {
		int fds[2];
		if (pipe(fds) < 0)
			return;
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec a, b;
			struct husk_error err;
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			clock_gettime(CLOCK_MONOTONIC, &a);
			int r = husk_seccomp_load(NULL, DOCKER_CAPS, &err);
			clock_gettime(CLOCK_MONOTONIC, &b);
			double t = r < 0 ? -1
					 : (double)(b.tv_sec - a.tv_sec) * 1e3 +
						   (double)(b.tv_nsec - a.tv_nsec) / 1e6;
			_exit(write(fds[1], &t, sizeof t) == sizeof t ? 0 : 1);
		}
		close(fds[1]);
		if (read(fds[0], &ms[i], sizeof ms[i]) != sizeof ms[i])
			ms[i] = -1;
		close(fds[0]);
		waitpid(pid, NULL, 0);
		CHECK(ms[i] >= 0);
	}
	qsort(ms, RUNS, sizeof *ms, cmp_double);
	fprintf(stderr, "# default profile build+load: median %.2f ms, min %.2f, max %.2f\n",
		ms[RUNS / 2], ms[0], ms[RUNS - 1]);
}

int main(void)
{
	RUN(test_default_profile);
	RUN(test_capabilities);
	RUN(test_custom_errno);
	RUN(test_kill);
	RUN(test_args);
	RUN(test_conditions);
	RUN(test_flags_and_disabled);
	RUN(test_validate);
	RUN(test_timing);
	return test_result();
}
