/* Seccomp filters from Docker-format profiles, built with libseccomp.
 *
 * What a profile means is moby's (profiles/seccomp: "includes"/"excludes" on arch,
 * capabilities and kernel version, "archMap") followed by runc's (libcontainer/seccomp:
 * actions, operators, flags, unknown syscall names skipped, and an -ENOSYS answer for
 * syscalls newer than any the profile names, so that libc falls back instead of failing).
 *
 * A profile is parsed and checked whole first, every rule whatever its conditions, into a
 * struct profile; only then are the rules that apply to this host and capability set added to
 * a filter. So validation at create time sees the same errors a start would.
 *
 * no_new_privs is the caller's job (DESIGN.md: containers always run with it), so the filter
 * attribute SCMP_FLTATR_CTL_NNP is off, as in runc; we load the program ourselves anyway.
 * SCMP_FLTATR_CTL_TSYNC is not used: the container's process is single-threaded here. */
#include "seccomp.h"
#include "json.h"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

/* Docker's default profile (core/seccomp/default.json), embedded by core/embed.py. */
extern const char husk_seccomp_default_json[];

/* A profile comes from a client: bound what we parse. The default profile is 14 KiB. */
#define PROFILE_MAX (1024 * 1024)
#define SYSCALL_ARGS 6
#define X32_SYSCALL_BIT 0x40000000U

/* runc's names (libcontainer/seccomp/config.go). go is the name that moby's "arches" in
 * includes/excludes compare with the host's; token 0 means this libseccomp lacks the arch. */
struct arch {
	const char *name;
	const char *go;
	uint32_t token;
};

static const struct arch arches[] = {
    {"SCMP_ARCH_X86", "x86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", "amd64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", "x32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", "arm", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", "arm64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", "mips", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", "mips64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", "mips64n32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", "mipsel", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", "mipsel64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", "ppc", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", "ppc64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", "ppc64le", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_RISCV64", "riscv64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_S390", "s390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", "s390x", SCMP_ARCH_S390X},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", "loongarch64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", "loongarch64", 0},
#endif
};

struct action {
	const char *name;
	uint32_t action;
	bool takes_errno; /* ERRNO and TRACE carry errnoRet, EPERM when absent (runc) */
};

static const struct action actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define CAP_NAME(c) [c] = #c
static const char *const cap_names[] = {
    CAP_NAME(CAP_CHOWN),
    CAP_NAME(CAP_DAC_OVERRIDE),
    CAP_NAME(CAP_DAC_READ_SEARCH),
    CAP_NAME(CAP_FOWNER),
    CAP_NAME(CAP_FSETID),
    CAP_NAME(CAP_KILL),
    CAP_NAME(CAP_SETGID),
    CAP_NAME(CAP_SETUID),
    CAP_NAME(CAP_SETPCAP),
    CAP_NAME(CAP_LINUX_IMMUTABLE),
    CAP_NAME(CAP_NET_BIND_SERVICE),
    CAP_NAME(CAP_NET_BROADCAST),
    CAP_NAME(CAP_NET_ADMIN),
    CAP_NAME(CAP_NET_RAW),
    CAP_NAME(CAP_IPC_LOCK),
    CAP_NAME(CAP_IPC_OWNER),
    CAP_NAME(CAP_SYS_MODULE),
    CAP_NAME(CAP_SYS_RAWIO),
    CAP_NAME(CAP_SYS_CHROOT),
    CAP_NAME(CAP_SYS_PTRACE),
    CAP_NAME(CAP_SYS_PACCT),
    CAP_NAME(CAP_SYS_ADMIN),
    CAP_NAME(CAP_SYS_BOOT),
    CAP_NAME(CAP_SYS_NICE),
    CAP_NAME(CAP_SYS_RESOURCE),
    CAP_NAME(CAP_SYS_TIME),
    CAP_NAME(CAP_SYS_TTY_CONFIG),
    CAP_NAME(CAP_MKNOD),
    CAP_NAME(CAP_LEASE),
    CAP_NAME(CAP_AUDIT_WRITE),
    CAP_NAME(CAP_AUDIT_CONTROL),
    CAP_NAME(CAP_SETFCAP),
    CAP_NAME(CAP_MAC_OVERRIDE),
    CAP_NAME(CAP_MAC_ADMIN),
    CAP_NAME(CAP_SYSLOG),
    CAP_NAME(CAP_WAKE_ALARM),
    CAP_NAME(CAP_BLOCK_SUSPEND),
    CAP_NAME(CAP_AUDIT_READ),
    CAP_NAME(CAP_PERFMON),
    CAP_NAME(CAP_BPF),
    CAP_NAME(CAP_CHECKPOINT_RESTORE),
};

/* A rule's "includes" or "excludes", resolved against the host when parsed; only the
 * capabilities wait for the build. */
struct cond {
	bool arches_given, arch_listed; /* "arches", and whether it names the host's */
	bool kernel_given, kernel_ge;	/* "minKernel", and whether the host's is as new */
	size_t n_caps;
	uint64_t caps;	   /* the named capabilities husk knows */
	bool caps_unknown; /* a name outside cap_names: a capability no process holds */
};

struct rule {
	const char **names; /* borrowed from the JSON tree */
	int *nrs;	    /* native numbers; __NR_SCMP_ERROR: unknown to libseccomp */
	size_t n_names;
	uint32_t action;
	struct scmp_arg_cmp *args;
	size_t n_args;
	/* libseccomp cannot AND two conditions on one argument; runc then adds each condition
	 * as a rule of its own (which ORs them). */
	bool args_one_by_one;
	struct cond includes, excludes;
};

struct profile {
	json_t *root;
	bool disabled; /* no defaultAction and no syscalls: moby runs unconfined */
	uint32_t default_action;
	const struct arch *arches[ARRAY_SIZE(arches)]; /* to add beside the native one */
	size_t n_arches;
	bool flags_given, flag_log, flag_spec_allow;
	struct rule *rules;
	size_t n_rules;
};

/* The host as moby sees it. */
struct host {
	const struct arch *native;
	unsigned kernel[2];
	bool kernel_parsed;
};

static void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].names);
		free(p->rules[i].nrs);
		free(p->rules[i].args);
	}
	free(p->rules);
	json_decref(p->root);
}

static int invalid(struct husk_error *err, const char *where, const char *fmt, ...) _printf_(3, 4);

/* -EINVAL with "seccomp profile: WHERE: MESSAGE". */
static int invalid(struct husk_error *err, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (str_empty(where))
		return husk_error_set(err, -EINVAL, "seccomp profile: %s", msg);
	return husk_error_set(err, -EINVAL, "seccomp profile: %s: %s", where, msg);
}

/* Typed members: absent or null is "not given" (Go leaves the field zero); another type is
 * an error, as Go's decoder makes it. */
static int member(const json_t *o, const char *key, json_type type, const json_t **out,
		  const char *where, struct husk_error *err)
{
	static const char *const type_names[] = {
	    [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array",  [JSON_STRING] = "a string",
	    [JSON_INTEGER] = "an integer", [JSON_REAL] = "an integer", [JSON_TRUE] = "a boolean",
	    [JSON_FALSE] = "a boolean",	   [JSON_NULL] = "null",
	};
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != type)
		return invalid(err, where, "\"%s\" must be %s", key, type_names[type]);
	*out = v;
	return 0;
}

static int member_string(const json_t *o, const char *key, const char **out, const char *where,
			 struct husk_error *err)
{
	const json_t *v;
	int r = member(o, key, JSON_STRING, &v, where, err);
	*out = v ? json_string_value(v) : NULL;
	return r;
}

/* An unsigned integer member up to max; *out keeps its value when absent. */
static int member_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out, bool *given,
		       const char *where, struct husk_error *err)
{
	const json_t *v;
	int r = member(o, key, JSON_INTEGER, &v, where, err);
	if (given)
		*given = v != NULL;
	if (r < 0 || !v)
		return r;
	json_int_t n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return invalid(err, where, "\"%s\" %lld out of range (0-%llu)", key, (long long)n,
			       (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

/* Elements of an array that must all be strings. */
static int string_at(const json_t *a, size_t i, const char **out, const char *where,
		     const char *key, struct husk_error *err)
{
	const json_t *v = json_array_get(a, i);
	*out = NULL;
	if (!json_is_string(v))
		return invalid(err, where, "\"%s\"[%zu] must be a string", key, i);
	*out = json_string_value(v);
	return 0;
}

static const struct arch *arch_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (streq(arches[i].name, name))
			return &arches[i];
	return NULL;
}

static const struct arch *arch_by_token(uint32_t token)
{
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (arches[i].token == token)
			return &arches[i];
	return NULL;
}

static int host_init(struct host *h, struct husk_error *err)
{
	struct utsname u;
	*h = (struct host){.native = arch_by_token(seccomp_arch_native())};
	if (!h->native)
		return husk_error_set(err, -EOPNOTSUPP, "seccomp: unsupported native architecture");
	/* moby reads "kernel.major" and ignores the rest: 3.12.25-gentoo, 3.12-1-amd64 */
	h->kernel_parsed =
	    uname(&u) == 0 && sscanf(u.release, "%u.%u", &h->kernel[0], &h->kernel[1]) == 2;
	return 0;
}

/* moby's KernelVersion: "<kernel>.<major>", each 0-255, not 0.0. */
static int parse_min_kernel(const char *s, unsigned v[2])
{
	const char *p = s;
	for (int i = 0; i < 2; i++) {
		size_t n = strspn(p, "0123456789");
		unsigned long x = strtoul(p, NULL, 10); /* saturates: then above 255 too */
		if (n == 0 || x > 255)
			return -EINVAL;
		v[i] = (unsigned)x;
		p += n;
		if (*p != (i == 0 ? '.' : '\0'))
			return -EINVAL;
		p++;
	}
	return v[0] || v[1] ? 0 : -EINVAL;
}

static int parse_cond_caps(const json_t *caps, struct cond *c, const char *where,
			   struct husk_error *err)
{
	for (size_t i = 0; i < json_array_size(caps); i++) {
		const char *name;
		int r = string_at(caps, i, &name, where, "caps", err);
		if (r < 0)
			return r;
		size_t cap = 0;
		while (cap < ARRAY_SIZE(cap_names) && !streq(cap_names[cap], name))
			cap++;
		if (cap < ARRAY_SIZE(cap_names))
			c->caps |= UINT64_C(1) << cap;
		else
			c->caps_unknown = true;
		c->n_caps++;
	}
	return 0;
}

static int parse_cond(const json_t *rule, const char *key, const struct host *h, struct cond *c,
		      const char *rule_where, struct husk_error *err)
{
	char where[128];
	const json_t *o, *caps, *list;
	const char *kernel;
	int r = member(rule, key, JSON_OBJECT, &o, rule_where, err);
	if (r < 0 || !o)
		return r;
	snprintf(where, sizeof where, "%s.%s", rule_where, key);
	if ((r = member(o, "caps", JSON_ARRAY, &caps, where, err)) < 0 ||
	    (r = parse_cond_caps(caps, c, where, err)) < 0)
		return r;
	if ((r = member(o, "arches", JSON_ARRAY, &list, where, err)) < 0)
		return r;
	c->arches_given = json_array_size(list) > 0;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *name;
		if ((r = string_at(list, i, &name, where, "arches", err)) < 0)
			return r;
		c->arch_listed |= streq(name, h->native->go);
	}
	if ((r = member_string(o, "minKernel", &kernel, where, err)) < 0 || str_empty(kernel))
		return r;
	unsigned v[2];
	if (parse_min_kernel(kernel, v) < 0)
		return invalid(err, where,
			       "invalid minKernel \"%s\", expected \"<kernel>.<major>\"", kernel);
	if (!h->kernel_parsed)
		return husk_error_set(err, -EIO,
				      "seccomp: cannot parse the running kernel's version");
	c->kernel_given = true;
	c->kernel_ge = h->kernel[0] > v[0] || (h->kernel[0] == v[0] && h->kernel[1] >= v[1]);
	return 0;
}

/* An action and its errno: errnoRet for ERRNO and TRACE, EPERM when absent. */
static int parse_action(const char *name, const json_t *o, const char *errno_key, uint32_t *out,
			const char *where, struct husk_error *err)
{
	uint64_t e = EPERM;
	int r;
	if (streq(name, "SCMP_ACT_NOTIFY"))
		return invalid(err, where,
			       "SCMP_ACT_NOTIFY is not supported (husk has no seccomp agent)");
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (!streq(actions[i].name, name))
			continue;
		if ((r = member_uint(o, errno_key, 0xffff, &e, NULL, where, err)) < 0)
			return r;
		*out = actions[i].takes_errno ? actions[i].action | (uint32_t)e : actions[i].action;
		return 0;
	}
	return invalid(err, where, "unknown action \"%s\"", str_or(name, ""));
}

static int parse_arg(const json_t *a, struct scmp_arg_cmp *cmp, const char *where,
		     struct husk_error *err)
{
	uint64_t index = 0, value = 0, value_two = 0;
	const char *op;
	int r;
	if (!json_is_object(a))
		return invalid(err, where, "must be an object");
	if ((r = member_uint(a, "index", UINT64_MAX, &index, NULL, where, err)) < 0 ||
	    (r = member_uint(a, "value", UINT64_MAX, &value, NULL, where, err)) < 0 ||
	    (r = member_uint(a, "valueTwo", UINT64_MAX, &value_two, NULL, where, err)) < 0 ||
	    (r = member_string(a, "op", &op, where, err)) < 0)
		return r;
	if (index >= SYSCALL_ARGS)
		return invalid(err, where, "index %llu out of range (0-%d)",
			       (unsigned long long)index, SYSCALL_ARGS - 1);
	/* datum_a is the mask for MASKED_EQ, as libseccomp-golang's MakeCondition passes it */
	*cmp =
	    (struct scmp_arg_cmp){.arg = (unsigned)index, .datum_a = value, .datum_b = value_two};
	for (size_t i = 0; i < ARRAY_SIZE(operators); i++)
		if (streq(operators[i].name, op)) {
			cmp->op = operators[i].op;
			return 0;
		}
	return invalid(err, where, "unknown operator \"%s\"", str_or(op, ""));
}

static int parse_args(const json_t *rule, struct rule *out, const char *rule_where,
		      struct husk_error *err)
{
	const json_t *args;
	unsigned per_index[SYSCALL_ARGS] = {0};
	int r = member(rule, "args", JSON_ARRAY, &args, rule_where, err);
	if (r < 0 || json_array_size(args) == 0)
		return r;
	out->args = xcalloc(json_array_size(args), sizeof *out->args);
	for (size_t i = 0; i < json_array_size(args); i++) {
		char where[128];
		snprintf(where, sizeof where, "%s.args[%zu]", rule_where, i);
		if ((r = parse_arg(json_array_get(args, i), &out->args[i], where, err)) < 0)
			return r;
		out->args_one_by_one |= ++per_index[out->args[i].arg] > 1;
		out->n_args++;
	}
	return 0;
}

static int parse_names(const json_t *rule, struct rule *out, const char *where,
		       struct husk_error *err)
{
	const json_t *names;
	const char *name;
	int r;
	if ((r = member_string(rule, "name", &name, where, err)) < 0 ||
	    (r = member(rule, "names", JSON_ARRAY, &names, where, err)) < 0)
		return r;
	if (!str_empty(name) && json_array_size(names) > 0)
		return invalid(err, where, "both \"name\" and \"names\" are given, use \"names\"");
	size_t n = str_empty(name) ? json_array_size(names) : 1;
	out->names = xcalloc(n + 1, sizeof *out->names);
	out->nrs = xcalloc(n + 1, sizeof *out->nrs);
	for (size_t i = 0; i < n; i++) {
		const char *s = name;
		if (str_empty(name) && (r = string_at(names, i, &s, where, "names", err)) < 0)
			return r;
		if (!*s)
			return invalid(err, where, "\"names\"[%zu] is empty", i);
		out->names[i] = s;
		out->nrs[i] = seccomp_syscall_resolve_name(s);
		out->n_names++;
	}
	return 0;
}

static int parse_rule(const json_t *o, const struct host *h, struct rule *out, const char *where,
		      struct husk_error *err)
{
	const char *action;
	int r;
	if (!json_is_object(o))
		return invalid(err, where, "must be an object");
	if ((r = parse_names(o, out, where, err)) < 0 ||
	    (r = member_string(o, "action", &action, where, err)) < 0 ||
	    (r = parse_action(action, o, "errnoRet", &out->action, where, err)) < 0 ||
	    (r = parse_args(o, out, where, err)) < 0 ||
	    (r = parse_cond(o, "includes", h, &out->includes, where, err)) < 0 ||
	    (r = parse_cond(o, "excludes", h, &out->excludes, where, err)) < 0)
		return r;
	return 0;
}

static int parse_rules(const json_t *syscalls, const struct host *h, struct profile *p,
		       struct husk_error *err)
{
	p->rules = xcalloc(json_array_size(syscalls) + 1, sizeof *p->rules);
	for (size_t i = 0; i < json_array_size(syscalls); i++) {
		char where[64];
		snprintf(where, sizeof where, "syscalls[%zu]", i);
		/* counted first, so that profile_free releases a half-parsed rule */
		p->n_rules++;
		int r = parse_rule(json_array_get(syscalls, i), h, &p->rules[i], where, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_arch(struct profile *p, const char *name, const char *where, struct husk_error *err)
{
	const struct arch *a = arch_by_name(name);
	if (!a)
		return invalid(err, where, "unknown architecture \"%s\"", name);
	if (!a->token)
		return invalid(
		    err, where, "architecture %s is not supported by libseccomp %u.%u.%u", name,
		    seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	for (size_t i = 0; i < p->n_arches; i++)
		if (p->arches[i] == a)
			return 0;
	p->arches[p->n_arches++] = a;
	return 0;
}

/* One archMap entry: all names must be known; the entry for the host's arch is used. */
static int parse_arch_map_entry(const json_t *e, const struct host *h, struct profile *p,
				const char *where, struct husk_error *err)
{
	const json_t *subs;
	const char *name;
	int r;
	if (!json_is_object(e))
		return invalid(err, where, "must be an object");
	if ((r = member_string(e, "architecture", &name, where, err)) < 0 ||
	    (r = member(e, "subArchitectures", JSON_ARRAY, &subs, where, err)) < 0)
		return r;
	const struct arch *a = arch_by_name(name);
	if (!a)
		return invalid(err, where, "unknown architecture \"%s\"", str_or(name, ""));
	for (size_t i = 0; i < json_array_size(subs); i++) {
		const char *sub;
		if ((r = string_at(subs, i, &sub, where, "subArchitectures", err)) < 0)
			return r;
		if (!arch_by_name(sub))
			return invalid(err, where, "unknown architecture \"%s\"", sub);
	}
	if (a != h->native)
		return 0;
	if ((r = add_arch(p, name, where, err)) < 0)
		return r;
	for (size_t i = 0; i < json_array_size(subs); i++)
		if ((r = add_arch(p, json_string_value(json_array_get(subs, i)), where, err)) < 0)
			return r;
	return 0;
}

static int parse_arches(const json_t *root, const struct host *h, struct profile *p,
			struct husk_error *err)
{
	const json_t *list, *map;
	char where[64];
	int r;
	if ((r = member(root, "architectures", JSON_ARRAY, &list, "", err)) < 0 ||
	    (r = member(root, "archMap", JSON_ARRAY, &map, "", err)) < 0)
		return r;
	if (json_array_size(list) > 0 && json_array_size(map) > 0)
		return invalid(err, "",
			       "both \"architectures\" and \"archMap\" are given, use one of them");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *name;
		snprintf(where, sizeof where, "architectures[%zu]", i);
		if ((r = string_at(list, i, &name, "", "architectures", err)) < 0 ||
		    (r = add_arch(p, name, where, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < json_array_size(map); i++) {
		snprintf(where, sizeof where, "archMap[%zu]", i);
		if ((r = parse_arch_map_entry(json_array_get(map, i), h, p, where, err)) < 0)
			return r;
	}
	return 0;
}

/* The flags runc knows. Absent "flags" means SPEC_ALLOW where supported (runc's default). */
static int parse_flags(const json_t *root, struct profile *p, struct husk_error *err)
{
	const json_t *flags;
	int r = member(root, "flags", JSON_ARRAY, &flags, "", err);
	if (r < 0)
		return r;
	p->flags_given = flags != NULL;
	for (size_t i = 0; i < json_array_size(flags); i++) {
		const char *f;
		if ((r = string_at(flags, i, &f, "", "flags", err)) < 0)
			return r;
		if (streq(f, "SECCOMP_FILTER_FLAG_LOG"))
			p->flag_log = true;
		else if (streq(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			p->flag_spec_allow = true;
		else if (!streq(f, "SECCOMP_FILTER_FLAG_TSYNC")) /* runc ignores it too */
			return invalid(err, "", "unknown or unsupported flag \"%s\"", f);
	}
	return 0;
}

static int parse_top(const json_t *root, const struct host *h, struct profile *p,
		     struct husk_error *err)
{
	const json_t *syscalls;
	const char *action, *listener;
	int r;
	if ((r = member_string(root, "defaultAction", &action, "", err)) < 0 ||
	    (r = member(root, "syscalls", JSON_ARRAY, &syscalls, "", err)) < 0 ||
	    (r = member_string(root, "listenerPath", &listener, "", err)) < 0)
		return r;
	if (str_empty(action) && json_array_size(syscalls) == 0) {
		p->disabled = true;
		return 0;
	}
	if (!str_empty(listener))
		return invalid(err, "",
			       "\"listenerPath\" is not supported (husk has no seccomp agent)");
	if ((r = parse_action(action, root, "defaultErrnoRet", &p->default_action, "defaultAction",
			      err)) < 0 ||
	    (r = parse_arches(root, h, p, err)) < 0 || (r = parse_flags(root, p, err)) < 0 ||
	    (r = parse_rules(syscalls, h, p, err)) < 0)
		return r;
	return 0;
}

static int profile_parse(const char *text, const struct host *h, struct profile *p,
			 struct husk_error *err)
{
	json_error_t jerr;
	size_t len = strnlen(text, PROFILE_MAX + 1);
	if (len > PROFILE_MAX)
		return invalid(err, "", "larger than %d bytes", PROFILE_MAX);
	p->root = json_loadb(text, len, 0, &jerr);
	if (!p->root)
		return invalid(err, "", "invalid JSON: %s (line %d, column %d)", jerr.text,
			       jerr.line, jerr.column);
	if (!json_is_object(p->root))
		return invalid(err, "", "not a JSON object");
	return parse_top(p->root, h, p, err);
}

static bool rule_applies(const struct rule *r, uint64_t caps)
{
	const struct cond *ex = &r->excludes, *in = &r->includes;
	if ((ex->arches_given && ex->arch_listed) || (ex->caps & caps) ||
	    (ex->kernel_given && ex->kernel_ge))
		return false;
	if ((in->arches_given && !in->arch_listed) ||
	    (in->n_caps && (in->caps_unknown || (in->caps & caps) != in->caps)) ||
	    (in->kernel_given && !in->kernel_ge))
		return false;
	return true;
}

static int add_syscall(scmp_filter_ctx ctx, const struct rule *r, int nr)
{
	if (!r->args_one_by_one)
		return seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->n_args, r->args);
	for (size_t i = 0; i < r->n_args; i++) {
		int ret = seccomp_rule_add_array(ctx, r->action, nr, 1, &r->args[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* libseccomp's work grows much faster than a filter: each rule added walks the rules already
 * there (its transactions), and program generation is worse. As one filter, the default
 * profile on x86_64 (361 syscalls, for x86_64, x86 and x32) took 12 ms to build. So husk
 * builds small filters, one arch and about GROUP syscalls each, and chains their programs
 * (build()). All rules of one syscall go in one filter, so libseccomp still decides between
 * them as it would in one. */
#define GROUP 48

/* Calls that libseccomp turns into socketcall(2) and ipc(2) rules on the arches that
 * multiplex them (x86, s390, ppc): they share one filter with those two. */
static const char *const multiplexed[] = {
    "socketcall", "ipc",	 "socket",	"bind",	      "connect",    "listen",  "accept",
    "accept4",	  "getsockname", "getpeername", "socketpair", "send",	    "recv",    "sendto",
    "recvfrom",	  "shutdown",	 "setsockopt",	"getsockopt", "sendmsg",    "recvmsg", "recvmmsg",
    "sendmmsg",	  "semop",	 "semget",	"semctl",     "semtimedop", "msgsnd",  "msgrcv",
    "msgget",	  "msgctl",	 "shmat",	"shmdt",      "shmget",	    "shmctl",
};

/* A syscall of an applied rule. */
struct entry {
	bool multiplexed;
	long key; /* the syscall's number on the filter's arch */
	size_t seq;
	int nr; /* its native number, what seccomp_rule_add takes */
	size_t rule;
	const char *name;
};

/* The multiplexed first; then highest number first: libseccomp keeps a filter's syscalls in a
 * list sorted by number and walks it from the lowest at each insertion. */
static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->multiplexed != y->multiplexed)
		return x->multiplexed ? -1 : 1;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq; /* one syscall's rules in profile order */
}

static bool is_multiplexed(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(multiplexed); i++)
		if (streq(multiplexed[i], name))
			return true;
	return false;
}

static bool arch_multiplexes(uint32_t arch)
{
	return seccomp_syscall_resolve_name_arch(arch, "socketcall") >= 0 ||
	       seccomp_syscall_resolve_name_arch(arch, "ipc") >= 0;
}

/* What an arch's part of the filter holds: the syscalls to add, sorted; the highest number
 * that the applied rules name, for the -ENOSYS stub. */
struct plan {
	uint32_t arch;
	struct entry *e;
	size_t n;
	long max;
};

static void plan_free(struct plan *pl)
{
	free(pl->e);
}

static void plan_arch(const struct profile *p, uint64_t caps, uint32_t arch, struct plan *pl)
{
	bool mux = arch_multiplexes(arch);
	size_t max = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		max += p->rules[i].n_names;
	*pl = (struct plan){.arch = arch, .e = xcalloc(max + 1, sizeof *pl->e), .max = -1};
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		if (!rule_applies(r, caps))
			continue;
		for (size_t j = 0; j < r->n_names; j++) {
			long key = seccomp_syscall_resolve_name_arch(arch, r->names[j]);
			pl->max = key > pl->max ? key : pl->max;
			/* libseccomp refuses a rule that repeats the default action (runc skips
			 * it); names unknown to libseccomp are skipped, as runc does */
			if (r->action == p->default_action || r->nrs[j] == __NR_SCMP_ERROR)
				continue;
			pl->e[pl->n] =
			    (struct entry){.multiplexed = mux && is_multiplexed(r->names[j]),
					   .key = key,
					   .seq = pl->n,
					   .nr = r->nrs[j],
					   .rule = i,
					   .name = r->names[j]};
			pl->n++;
		}
	}
	qsort(pl->e, pl->n, sizeof *pl->e, entry_cmp);
}

/* The end of the group of entries that starts at start. */
static size_t group_end(const struct entry *e, size_t n, size_t start)
{
	size_t end = start;
	if (start < n && e[start].multiplexed) {
		while (end < n && e[end].multiplexed)
			end++;
		return end;
	}
	end = start + GROUP < n ? start + GROUP : n;
	while (end < n && e[end].key == e[end - 1].key)
		end++;
	return end;
}

static int add_rules(scmp_filter_ctx ctx, const struct profile *p, const struct entry *e, size_t n,
		     struct husk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = add_syscall(ctx, &p->rules[e[i].rule], e[i].nr);
		if (r < 0) {
			char where[64];
			snprintf(where, sizeof where, "syscalls[%zu]", e[i].rule);
			return invalid(err, where, "cannot add a rule for %s: %s", e[i].name,
				       strerror(-r));
		}
	}
	return 0;
}

static void filter_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int set_attrs(scmp_filter_ctx ctx, const struct profile *p, struct husk_error *err)
{
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r >= 0 && p->flag_log)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (r >= 0 && p->flag_spec_allow)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	if (r < 0)
		return invalid(err, "flags", "not supported by this kernel or libseccomp: %s",
			       strerror(-r));
	if (!p->flags_given) /* runc: SPEC_ALLOW by default where the kernel has it */
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	return 0;
}

/* A filter for one arch. badarch, when not 0, replaces libseccomp's "bad arch" action. */
static int filter_new(const struct profile *p, uint32_t arch, uint32_t default_action,
		      uint32_t badarch, scmp_filter_ctx *out, struct husk_error *err)
{
	_cleanup_(filter_releasep) scmp_filter_ctx ctx = seccomp_init(default_action);
	int r = 0;
	if (!ctx)
		return invalid(err, "defaultAction", "not supported by this kernel or libseccomp");
	if (arch != seccomp_arch_native() && ((r = seccomp_arch_add(ctx, arch)) < 0 ||
					      (r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0))
		return husk_error_sys(err, r, "seccomp: setting up a filter for %s",
				      arch_by_token(arch)->name);
	if (badarch && (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch)) < 0)
		return husk_error_sys(err, r, "seccomp: setting the bad-arch action");
	if ((r = set_attrs(ctx, p, err)) < 0)
		return r;
	*out = TAKE_PTR(ctx);
	return 0;
}

/* A BPF program: runc's -ENOSYS stub, then the chained libseccomp programs. */
struct program {
	struct sock_filter *insns;
	size_t n;
};

static void program_free(struct program *prog)
{
	free(prog->insns);
}

/* The syscall numbers a filter has rules for; it is skipped for the others. */
struct range {
	bool given;
	uint32_t lo, hi;
};

#define PREFIX_LEN 4

/* Appends the filter's program; its `ret chain` instructions become jumps past its end, to the
 * next program. With a range, a prefix jumps past it for syscalls outside the range. */
static int program_append(struct program *prog, scmp_filter_ctx ctx, uint32_t chain,
			  struct range range, struct husk_error *err)
{
	_cleanup_close_ int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	struct stat st;
	int r;
	if (fd < 0)
		return husk_error_sys(err, -errno, "seccomp: memfd_create");
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		return husk_error_sys(err, r, "seccomp: generating the filter");
	if (fstat(fd, &st) < 0)
		return husk_error_sys(err, -errno, "seccomp: fstat");
	size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
	size_t pre = range.given ? PREFIX_LEN : 0;
	if (prog->n + pre + n > BPF_MAXINSNS)
		return invalid(err, "", "the filter has more than the kernel's %d instructions",
			       BPF_MAXINSNS);
	prog->insns = xrealloc(prog->insns, (prog->n + pre + n) * sizeof *prog->insns);
	struct sock_filter *f = prog->insns + prog->n + pre;
	ssize_t got = pread(fd, f, n * sizeof *f, 0);
	if (got != (ssize_t)(n * sizeof *f))
		return husk_error_sys(err, got < 0 ? -errno : -EIO, "seccomp: reading the filter");
	for (size_t i = 0; chain && i < n; i++)
		if (f[i].code == (BPF_RET | BPF_K) && f[i].k == chain)
			f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)(n - i - 1),
							    0, 0);
	if (range.given) {
		struct sock_filter prefix[PREFIX_LEN] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, range.lo, 0, 1), /* below: skip */
		    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, range.hi, 0, 1), /* above: skip */
		    BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)n, 0, 0),
		};
		memcpy(f - pre, prefix, sizeof prefix);
	}
	prog->n += pre + n;
	return 0;
}

/* The "bad arch" action that chains the programs: one no rule uses. */
static uint32_t chain_action(const struct profile *p)
{
	for (uint32_t data = 0xffff;; data--) {
		uint32_t act = SCMP_ACT_TRACE(data);
		bool used = act == p->default_action;
		for (size_t i = 0; !used && i < p->n_rules; i++)
			used = p->rules[i].action == act;
		if (!used)
			return act;
	}
}

/* The -ENOSYS stub (runc's libcontainer/seccomp/patchbpf): a syscall numbered above every
 * syscall the applied rules name, for its arch, is one this profile predates; answering
 * ENOSYS instead of the default EPERM lets libc fall back (clone3, fchmodat2, ...). Jump
 * targets are symbolic until the layout is known. */
#define STUB_MAX 128
enum { TO_NONE = -1, TO_ENOSYS = -2, TO_FILTER = -3 };

struct stub {
	struct sock_filter insn[STUB_MAX];
	int jt[STUB_MAX], jf[STUB_MAX]; /* TO_* or a label */
	size_t label[STUB_MAX];		/* label -> instruction index */
	size_t n, n_labels;
};

static void emit(struct stub *s, uint16_t code, uint32_t k, int jt, int jf)
{
	assert(s->n < STUB_MAX);
	s->insn[s->n] = (struct sock_filter)BPF_STMT(code, k);
	s->jt[s->n] = jt;
	s->jf[s->n] = jf;
	s->n++;
}

static int new_label(struct stub *s)
{
	assert(s->n_labels < STUB_MAX);
	return (int)s->n_labels++;
}

static void place(struct stub *s, int label)
{
	s->label[label] = s->n;
}

/* "if nr > max: ENOSYS; else the filter" (max < 0: no syscall of this kind is named). */
static void emit_max(struct stub *s, long max)
{
	if (max >= 0)
		emit(s, BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, TO_ENOSYS, TO_NONE);
	emit(s, BPF_JMP | BPF_JA, 0, TO_FILTER, TO_NONE);
}

/* One arch's section; x86_64 and x32 share AUDIT_ARCH_X86_64 and differ by a bit. */
static void emit_section(struct stub *s, uint32_t audit_arch, long max, long max_x32)
{
	emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), TO_NONE, TO_NONE);
	if (audit_arch == AUDIT_ARCH_S390 || audit_arch == AUDIT_ARCH_S390X)
		/* unknown syscalls reach the filter as 0 (setup(2), the multiplexer) */
		emit(s, BPF_JMP | BPF_JEQ | BPF_K, 0, TO_ENOSYS, TO_NONE);
	if (audit_arch != AUDIT_ARCH_X86_64) {
		emit_max(s, max);
		return;
	}
	int x32 = new_label(s);
	emit(s, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, x32, TO_NONE);
	emit_max(s, max);
	place(s, x32);
	emit_max(s, max_x32);
}

static uint32_t audit_arch_of(uint32_t token)
{
	return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
}

/* The arches of the filter: the native one first, then the profile's others. */
static size_t filter_arches(const struct profile *p, const struct host *h,
			    uint32_t tokens[static ARRAY_SIZE(arches) + 1])
{
	size_t n = 0;
	tokens[n++] = h->native->token;
	for (size_t i = 0; i < p->n_arches; i++)
		if (p->arches[i]->token != h->native->token)
			tokens[n++] = p->arches[i]->token;
	return n;
}

static void stub_build(struct stub *s, const struct plan *plans, size_t n_plans)
{
	int sections[ARRAY_SIZE(arches) + 1];
	long max_x86_64 = -1, max_x32 = -1;
	bool x86_64_seen = false;
	for (size_t i = 0; i < n_plans; i++) {
		if (plans[i].arch == SCMP_ARCH_X86_64)
			max_x86_64 = plans[i].max;
		if (plans[i].arch == SCMP_ARCH_X32)
			max_x32 = plans[i].max;
	}

	emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), TO_NONE, TO_NONE);
	for (size_t i = 0; i < n_plans; i++) {
		uint32_t audit_arch = audit_arch_of(plans[i].arch);
		sections[i] = -1;
		if (audit_arch == AUDIT_ARCH_X86_64 && x86_64_seen)
			continue; /* x86_64 and x32 share a section */
		x86_64_seen |= audit_arch == AUDIT_ARCH_X86_64;
		sections[i] = new_label(s);
		emit(s, BPF_JMP | BPF_JEQ | BPF_K, audit_arch, sections[i], TO_NONE);
	}
	emit(s, BPF_JMP | BPF_JA, 0, TO_FILTER, TO_NONE);
	for (size_t i = 0; i < n_plans; i++) {
		if (sections[i] < 0)
			continue;
		uint32_t audit_arch = audit_arch_of(plans[i].arch);
		place(s, sections[i]);
		if (audit_arch == AUDIT_ARCH_X86_64)
			emit_section(s, audit_arch, max_x86_64, max_x32);
		else
			emit_section(s, audit_arch, plans[i].max, -1);
	}
	emit(s, BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS), TO_NONE, TO_NONE);
}

/* Resolves the symbolic jumps; the filter starts right after the stub. */
static void stub_link(struct stub *s)
{
	size_t enosys = s->n - 1, filter = s->n;
	for (size_t i = 0; i < s->n; i++) {
		int *to[2] = {&s->jt[i], &s->jf[i]};
		size_t target[2];
		for (int t = 0; t < 2; t++) {
			target[t] = *to[t] == TO_NONE	  ? i + 1
				    : *to[t] == TO_ENOSYS ? enosys
				    : *to[t] == TO_FILTER ? filter
							  : s->label[*to[t]];
			assert(target[t] > i && target[t] - i - 1 <= 255);
		}
		if (BPF_OP(s->insn[i].code) == BPF_JA && BPF_CLASS(s->insn[i].code) == BPF_JMP)
			s->insn[i].k = (uint32_t)(target[0] - i - 1);
		else if (BPF_CLASS(s->insn[i].code) == BPF_JMP) {
			s->insn[i].jt = (uint8_t)(target[0] - i - 1);
			s->insn[i].jf = (uint8_t)(target[1] - i - 1);
		}
	}
}

/* runc adds the stub unless the default lets syscalls through (ALLOW, LOG, TRACE: a tracer
 * handles new syscalls itself) or already answers ENOSYS. */
static bool wants_stub(uint32_t default_action)
{
	uint32_t act = default_action & SECCOMP_RET_ACTION_FULL;
	return act != SCMP_ACT_ALLOW && act != SCMP_ACT_LOG && act != (SCMP_ACT_TRACE(0)) &&
	       default_action != SCMP_ACT_ERRNO(ENOSYS);
}

/* The flags the filter's attributes ask for, as runc's patchbpf reads them back. */
static unsigned load_flags(scmp_filter_ctx ctx)
{
	uint32_t log = 0, ssb = 0;
	(void)seccomp_attr_get(ctx, SCMP_FLTATR_CTL_LOG, &log);
	(void)seccomp_attr_get(ctx, SCMP_FLTATR_CTL_SSB, &ssb);
	return (log ? SECCOMP_FILTER_FLAG_LOG : 0) | (ssb ? SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0);
}

/* The numbers a group of entries has rules for on the arch (those that exist there). */
static struct range group_range(const struct entry *e, size_t n)
{
	struct range r = {.given = true, .lo = UINT32_MAX, .hi = 0};
	for (size_t i = 0; i < n; i++) {
		if (e[i].multiplexed) /* also socketcall(2)/ipc(2) rules: no range */
			return (struct range){0};
		if (e[i].key < 0)
			continue;
		r.lo = e[i].key < r.lo ? (uint32_t)e[i].key : r.lo;
		r.hi = e[i].key > r.hi ? (uint32_t)e[i].key : r.hi;
	}
	return r;
}

/* An arch's part of the program: the programs of its small filters (see GROUP), each behind a
 * prefix that skips it for syscalls it has no rule for, and chained: each one's default and
 * "bad arch" actions are a marker that becomes a jump to the next program. Then a filter
 * without rules gives the profile's default action; the last arch's keeps libseccomp's bad-arch
 * action (kill). */
static int build_arch(const struct profile *p, const struct plan *pl, bool last_arch,
		      uint32_t chain, struct program *prog, unsigned *flags, struct husk_error *err)
{
	int r;
	for (size_t start = 0, end; start < pl->n; start = end) {
		_cleanup_(filter_releasep) scmp_filter_ctx ctx = NULL;
		end = group_end(pl->e, pl->n, start);
		if ((r = filter_new(p, pl->arch, chain, chain, &ctx, err)) < 0 ||
		    (r = add_rules(ctx, p, pl->e + start, end - start, err)) < 0 ||
		    (r = program_append(prog, ctx, chain, group_range(pl->e + start, end - start),
					err)) < 0)
			return r;
	}
	_cleanup_(filter_releasep) scmp_filter_ctx ctx = NULL;
	if ((r = filter_new(p, pl->arch, p->default_action, last_arch ? 0 : chain, &ctx, err)) <
		0 ||
	    (r = program_append(prog, ctx, last_arch ? 0 : chain, (struct range){0}, err)) < 0)
		return r;
	*flags = load_flags(ctx);
	return 0;
}

static int build(const struct profile *p, uint64_t caps, const struct host *h, struct program *prog,
		 unsigned *flags, struct husk_error *err)
{
	uint32_t tokens[ARRAY_SIZE(arches) + 1];
	struct plan plans[ARRAY_SIZE(tokens)];
	size_t n = filter_arches(p, h, tokens);
	uint32_t chain = chain_action(p);
	struct stub s = {0};
	int r = 0;
	for (size_t i = 0; i < n; i++)
		plan_arch(p, caps, tokens[i], &plans[i]);
	if (wants_stub(p->default_action)) {
		stub_build(&s, plans, n);
		stub_link(&s);
	}
	prog->insns = xmalloc(s.n * sizeof *s.insn + 1);
	memcpy(prog->insns, s.insn, s.n * sizeof *s.insn);
	prog->n = s.n;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = build_arch(p, &plans[i], i + 1 == n, chain, prog, flags, err);
	for (size_t i = 0; i < n; i++)
		plan_free(&plans[i]);
	return r;
}

static int parse(const char *profile_json, struct host *h, struct profile *p,
		 struct husk_error *err)
{
	int r = host_init(h, err);
	if (r < 0)
		return r;
	return profile_parse(str_or(profile_json, husk_seccomp_default_json), h, p, err);
}

struct husk_seccomp_filter {
	struct program prog;
	unsigned flags;
};

void husk_seccomp_filter_free(struct husk_seccomp_filter *f)
{
	if (!f)
		return;
	program_free(&f->prog);
	free(f);
}

int husk_seccomp_build(const char *profile_json, uint64_t caps, struct husk_seccomp_filter **out,
		       struct husk_error *err)
{
	_cleanup_(profile_free) struct profile p = {0};
	struct host h;
	*out = NULL;
	int r = parse(profile_json, &h, &p, err);
	if (r < 0 || p.disabled)
		return r;
	struct husk_seccomp_filter *f = xcalloc(1, sizeof *f);
	if ((r = build(&p, caps, &h, &f->prog, &f->flags, err)) < 0) {
		husk_seccomp_filter_free(f);
		return r;
	}
	*out = f;
	return 0;
}

int husk_seccomp_apply(const struct husk_seccomp_filter *f, struct husk_error *err)
{
	if (!f)
		return 0;
	struct sock_fprog fprog = {.len = (unsigned short)f->prog.n, .filter = f->prog.insns};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &fprog) < 0) {
		int r = -errno;
		return husk_error_sys(err, r, "seccomp: loading the filter%s",
				      r == -EACCES ? " (no_new_privs is not set)" : "");
	}
	return 0;
}

int husk_seccomp_load(const char *profile_json, uint64_t caps, struct husk_error *err)
{
	struct husk_seccomp_filter *f = NULL;
	int r = husk_seccomp_build(profile_json, caps, &f, err);
	if (r == 0)
		r = husk_seccomp_apply(f, err);
	husk_seccomp_filter_free(f);
	return r;
}

int husk_seccomp_validate(const char *profile_json, struct husk_error *err)
{
	/* The capabilities are known only at start: build with none and with all. */
	static const uint64_t caps[] = {0, UINT64_MAX};
	_cleanup_(profile_free) struct profile p = {0};
	struct host h;
	int r = parse(profile_json, &h, &p, err);
	for (size_t i = 0; r >= 0 && !p.disabled && i < ARRAY_SIZE(caps); i++) {
		_cleanup_(program_free) struct program prog = {0};
		unsigned flags;
		r = build(&p, caps[i], &h, &prog, &flags, err);
	}
	return r;
}
