/* core/seccomp.c: each load runs in a forked child (a filter cannot be unloaded), which sets
 * no_new_privs as husk's container child does, loads, tries syscalls and reports its failed
 * checks through its exit status. Runs as root and as an unprivileged user. */
#include "core/seccomp.h"
#include "test.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOCKER_CAPS UINT64_C(0xa80425fb) /* Docker's default capability set */
#define CAP(c) (UINT64_C(1) << (c))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
	CHECK(syscall(SYS_personality, 0UL) >= 0);	    /* PER_LINUX */
	CHECK_OK(raw_clone(0));
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);
	CHECK(run_true() == 0); /* execve */
	CHECK_OK(fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	close(fd);
	CHECK_ERRNO(syscall(SYS_chroot, "/nonexistent"), ENOENT); /* CAP_SYS_CHROOT */
	/* includes.minKernel 4.8: allowed here; no such process */
	CHECK_ERRNO(syscall(SYS_ptrace, PTRACE_PEEKDATA, 999999999, 0, 0), ESRCH);
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

static void no_chroot(void)
{
	CHECK_ERRNO(syscall(SYS_chroot, "/nonexistent"), EPERM);
}

static void test_capabilities(void)
{
	run_in_child("no CAP_SYS_CHROOT", NULL, DOCKER_CAPS & ~CAP(CAP_SYS_CHROOT), 0, no_chroot);
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
	char *p = profile("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
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
		fprintf(stderr, "validate %s: %d \"%s\"\n", json ? json : "(default)", r,
			err.message);
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
	check_valid("{" ALLOW
		    ", 'flags': ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW',"
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

#if defined(__x86_64__)
/* A 32-bit x86 syscall from this 64-bit process: the kernel checks it against the filter as
 * AUDIT_ARCH_I386, so this reaches the x86 part of the program. */
static long int80(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

static bool int80_works(void)
{
	int status;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(int80(20 /* getpid */, 0, 0, 0) == getpid() ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void i386_default(void)
{
	CHECK(int80(20 /* getpid */, 0, 0, 0) == getpid());
	CHECK(int80(288 /* keyctl */, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) ==
	      -EPERM);
	CHECK(int80(310 /* unshare */, 0, 0, 0) == -EPERM);
	CHECK(int80(102 /* socketcall */, 1 /* SYS_SOCKET */, 0, 0) == -EFAULT); /* allowed */
	CHECK(int80(435 /* clone3 */, 0, 0, 0) == -ENOSYS);
	CHECK(int80(136 /* personality */, 0x0040000, 0, 0) == -EPERM);
	CHECK(int80(1000, 0, 0, 0) == -ENOSYS);
}

static void test_i386(void)
{
	if (!int80_works()) {
		fprintf(stderr, "# skipped: no 32-bit syscalls here\n");
		return;
	}
	run_in_child("i386 default", NULL, DOCKER_CAPS, 0, i386_default);
}

/* Differential test of the program husk builds (small chained filters, range prefixes, the
 * -ENOSYS stub) against the one libseccomp builds from the same rules as a single filter:
 * both are run in a cBPF interpreter for x86_64, x32, x86 and a foreign arch, every syscall
 * number and a few arguments. Root only: the loaded program is read with ptrace. */

struct drule {
	const char *name;
	uint32_t action;
	unsigned n_args;
	struct scmp_arg_cmp args[2];
};

/* A small cBPF interpreter for seccomp programs. */
static uint32_t bpf_run(const struct sock_filter *f, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k + 4 > sizeof *d)
				return 0xdeadbeef;
			memcpy(&a, (const char *)d + i->k, 4);
			break;
		case BPF_LD | BPF_MEM:
			a = mem[i->k % BPF_MEMWORDS];
			break;
		case BPF_ST:
			mem[i->k % BPF_MEMWORDS] = a;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			break;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_MISC | BPF_TXA:
			a = x;
			break;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			fprintf(stderr, "bpf_run: unknown instruction %#x\n", i->code);
			return 0xdeadbeef;
		}
	}
	return 0xdeadbeef;
}

static const char *action_name(uint32_t act)
{
	switch (act) {
	case SCMP_ACT_ALLOW:
		return "SCMP_ACT_ALLOW";
	case SCMP_ACT_KILL_PROCESS:
		return "SCMP_ACT_KILL_PROCESS";
	default:
		return "SCMP_ACT_ERRNO";
	}
}

static char *drules_json(uint32_t default_action, const struct drule *r, size_t n)
{
	size_t cap = 256 + n * 256, len = 0;
	char *j = malloc(cap);
	len += (size_t)snprintf(j + len, cap - len,
				"{\"defaultAction\": \"%s\", \"defaultErrnoRet\": %u, "
				"\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", "
				"\"SCMP_ARCH_X32\"], \"syscalls\": [",
				action_name(default_action), default_action & 0xffff);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(j + len, cap - len,
					"%s{\"names\": [\"%s\"], \"action\": \"%s\", "
					"\"errnoRet\": %u, \"args\": [",
					i ? ", " : "", r[i].name, action_name(r[i].action),
					r[i].action & 0xffff);
		for (unsigned k = 0; k < r[i].n_args; k++)
			len += (size_t)snprintf(
			    j + len, cap - len,
			    "%s{\"index\": %u, \"value\": %llu, \"valueTwo\": %llu, "
			    "\"op\": \"%s\"}",
			    k ? ", " : "", r[i].args[k].arg,
			    (unsigned long long)r[i].args[k].datum_a,
			    (unsigned long long)r[i].args[k].datum_b,
			    r[i].args[k].op == SCMP_CMP_EQ ? "SCMP_CMP_EQ" : "SCMP_CMP_MASKED_EQ");
		len += (size_t)snprintf(j + len, cap - len, "]}");
	}
	snprintf(j + len, cap - len, "]}");
	return j;
}

/* libseccomp's program for the rules as a single filter, the reference. */
static struct sock_filter *reference_program(uint32_t default_action, const struct drule *r,
					     size_t n, size_t *len)
{
	scmp_filter_ctx ctx = seccomp_init(default_action);
	seccomp_arch_add(ctx, SCMP_ARCH_X86);
	seccomp_arch_add(ctx, SCMP_ARCH_X32);
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(r[i].name);
		if (nr != __NR_SCMP_ERROR && r[i].action != default_action)
			CHECK(seccomp_rule_add_array(ctx, r[i].action, nr, r[i].n_args,
						     r[i].args) == 0);
	}
	int fd = memfd_create("reference", MFD_CLOEXEC);
	CHECK(seccomp_export_bpf(ctx, fd) == 0);
	*len = (size_t)lseek(fd, 0, SEEK_END) / sizeof(struct sock_filter);
	struct sock_filter *f = calloc(*len + 1, sizeof *f);
	CHECK(pread(fd, f, *len * sizeof *f, 0) == (ssize_t)(*len * sizeof *f));
	close(fd);
	seccomp_release(ctx);
	return f;
}

/* Whether the process runs under a seccomp filter ("Seccomp: 2" in its status). */
static bool filtered(pid_t pid)
{
	char path[64], line[256];
	bool yes = false;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		yes |= strcmp(line, "Seccomp:\t2\n") == 0;
	if (f)
		fclose(f);
	return yes;
}

/* The program husk loads, read from a stopped child with ptrace. */
static struct sock_filter *loaded_program(const char *json, size_t *len)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct husk_error err;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (husk_seccomp_load(json, 0, &err) < 0) {
			fprintf(stderr, "load: %s\n", err.message);
			_exit(1);
		}
		for (;;) /* any syscall may be denied or kill now: spin until killed */
			__asm__ volatile("" ::: "memory");
	}
	struct sock_filter *f = NULL;
	int status;
	long n = -1;
	for (int i = 0; i < 5000 && !filtered(pid) && waitpid(pid, NULL, WNOHANG) == 0; i++)
		usleep(1000);
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0 && waitpid(pid, &status, 0) == pid &&
	    WIFSTOPPED(status)) {
		n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
		f = calloc(n > 0 ? (size_t)n : 1, sizeof *f);
		if (n <= 0 || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, f) != n)
			n = -1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(n > 0);
	*len = n > 0 ? (size_t)n : 0;
	return f;
}

/* The -ENOSYS stub's answer: a syscall above every one the rules name for its arch. */
static bool beyond(const struct drule *r, size_t n, uint32_t audit_arch, uint32_t nr)
{
	uint32_t token = audit_arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86
			 : nr & 0x40000000	       ? SCMP_ARCH_X32
						       : SCMP_ARCH_X86_64;
	long max = -1;
	for (size_t i = 0; i < n; i++) {
		long k = seccomp_syscall_resolve_name_arch(token, r[i].name);
		max = k > max ? k : max;
	}
	return max >= 0 && nr > (uint32_t)max;
}

static void compare_programs(uint32_t default_action, const struct drule *r, size_t n)
{
	char *json = drules_json(default_action, r, n);
	size_t n_ref, n_got;
	struct sock_filter *ref = reference_program(default_action, r, n, &n_ref);
	struct sock_filter *got = loaded_program(json, &n_got);
	static const uint32_t audit_arches[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386,
						AUDIT_ARCH_AARCH64};
	static const uint64_t values[] = {0, 2, 10, 0x7e020000, 0xffffffff};
	bool stub = default_action != SCMP_ACT_ALLOW;
	int mismatches = 0;
	for (size_t a = 0; a < ARRAY_LEN(audit_arches); a++)
		for (uint32_t i = 0; i < 2 * 700 + 2; i++) {
			uint32_t nr = i < 700	  ? i
				      : i < 1400  ? 0x40000000 + i - 700
				      : i == 1400 ? 0xffffffff
						  : 0x3fffffff;
			for (size_t v = 0; v < ARRAY_LEN(values); v++) {
				struct seccomp_data d = {.nr = (int)nr, .arch = audit_arches[a]};
				for (int k = 0; k < 6; k++)
					d.args[k] = values[(v + (size_t)k) % ARRAY_LEN(values)];
				uint32_t want = bpf_run(ref, n_ref, &d),
					 have = bpf_run(got, n_got, &d);
				if (stub && a < 2 && beyond(r, n, audit_arches[a], nr))
					want = SCMP_ACT_ERRNO(ENOSYS);
				if (want != have && mismatches++ < 5)
					fprintf(stderr,
						"arch %#x nr %#x arg0 %#llx: husk %#x, libseccomp "
						"%#x\n",
						audit_arches[a], nr, (unsigned long long)d.args[0],
						have, want);
			}
		}
	CHECK(mismatches == 0);
	free(ref);
	free(got);
	free(json);
}

static void test_chained_filters(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# skipped: reading a loaded filter needs root\n");
		return;
	}
	/* every x86_64 syscall, a distinct errno each; a few x86-only names; conditional rules,
	 * among them socket calls that libseccomp multiplexes into socketcall(2) on x86 */
	static const struct drule special[] = {
	    {"socket", SCMP_ACT_ERRNO(3001), 1, {SCMP_A0(SCMP_CMP_EQ, 2)}},
	    {"socket", SCMP_ACT_ERRNO(3002), 1, {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, 10)}},
	    {"clone", SCMP_ACT_ERRNO(3003), 1, {SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7e020000, 0)}},
	    {"personality", SCMP_ACT_ERRNO(3004), 1, {SCMP_A0(SCMP_CMP_EQ, 0xffffffff)}},
	    {"getpgid",
	     SCMP_ACT_ERRNO(3005),
	     2,
	     {SCMP_A0(SCMP_CMP_EQ, 2), SCMP_A1(SCMP_CMP_EQ, 10)}},
	    {"connect", SCMP_ACT_ERRNO(3006), 0, {{0}}},
	    {"semop", SCMP_ACT_ALLOW, 0, {{0}}},
	    {"_llseek", SCMP_ACT_ERRNO(3007), 0, {{0}}},
	    {"waitpid", SCMP_ACT_ALLOW, 0, {{0}}},
	    {"no_such_syscall", SCMP_ACT_ERRNO(3008), 0, {{0}}},
	};
	/* what the child needs after the load (the allocator's, the sanitizers') stays allowed */
	static const char *const keep[] = {
	    "mmap",   "munmap",	     "mremap", "madvise",	 "mprotect", "brk",
	    "exit",   "exit_group",  "write",  "rt_sigprocmask", "getpid",   "gettid",
	    "tgkill", "sched_yield", "futex",  "prctl"};
	struct drule r[600];
	size_t n = 0;
	for (int nr = 0; nr < 480; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		bool special_name = false, keep_name = false;
		for (size_t i = 0; name && i < ARRAY_LEN(special); i++)
			special_name |= strcmp(name, special[i].name) == 0;
		for (size_t i = 0; name && i < ARRAY_LEN(keep); i++)
			keep_name |= strcmp(name, keep[i]) == 0;
		if (name && !special_name)
			r[n++] = (struct drule){.name = strdup(name),
						.action = nr % 3 || keep_name
							      ? SCMP_ACT_ALLOW
							      : SCMP_ACT_ERRNO(100 + (uint32_t)nr)};
		free(name);
	}
	for (size_t i = 0; i < ARRAY_LEN(special); i++)
		r[n++] = special[i];
	compare_programs(SCMP_ACT_ERRNO(EPERM), r, n);
	for (size_t i = 0; i < n; i++) {
		bool keep_name = false;
		for (size_t k = 0; k < ARRAY_LEN(keep); k++)
			keep_name |= strcmp(r[i].name, keep[k]) == 0;
		if (r[i].action == SCMP_ACT_ALLOW && !keep_name)
			r[i].action = SCMP_ACT_KILL_PROCESS;
	}
	compare_programs(SCMP_ACT_ALLOW, r, n);
	for (size_t i = 0; i < n - ARRAY_LEN(special); i++)
		free((char *)r[i].name);
}
#else
static void test_i386(void)
{
	fprintf(stderr, "# skipped: x86_64 only\n");
}

static void test_chained_filters(void)
{
	fprintf(stderr, "# skipped: the differential test knows x86_64 only\n");
}
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Building and loading the default profile happens at every container start: wall and CPU
 * time of husk_seccomp_load in a fresh child, as a container's would be. */
static void test_timing(void)
{
	enum { RUNS = 21 };
	double wall[RUNS], cpu[RUNS];
	for (int i = 0; i < RUNS; i++) {
		int fds[2];
		double t[2] = {-1, -1};
		if (pipe(fds) < 0)
			return;
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec a, b, ca, cb;
			struct husk_error err;
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			clock_gettime(CLOCK_MONOTONIC, &a);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
			int r = husk_seccomp_load(NULL, DOCKER_CAPS, &err);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (r == 0) {
				t[0] = ms_between(&a, &b);
				t[1] = ms_between(&ca, &cb);
			}
			_exit(write(fds[1], t, sizeof t) == sizeof t ? 0 : 1);
		}
		close(fds[1]);
		if (read(fds[0], t, sizeof t) != sizeof t)
			t[0] = t[1] = -1;
		close(fds[0]);
		waitpid(pid, NULL, 0);
		CHECK(t[0] >= 0);
		wall[i] = t[0];
		cpu[i] = t[1];
	}
	qsort(wall, RUNS, sizeof *wall, cmp_double);
	qsort(cpu, RUNS, sizeof *cpu, cmp_double);
	fprintf(stderr,
		"# default profile build+load: wall median %.2f ms (min %.2f, max %.2f), "
		"CPU median %.2f ms (min %.2f)\n",
		wall[RUNS / 2], wall[0], wall[RUNS - 1], cpu[RUNS / 2], cpu[0]);
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
	RUN(test_i386);
	RUN(test_chained_filters);
	RUN(test_timing);
	return test_result();
}
