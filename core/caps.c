#include "caps.h"

#include <ctype.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static int last_cap(void)
{
	static int last = -1;
	if (last < 0) {
		/* cap_max_bits() reads the running kernel's CAP_LAST_CAP. */
		int n = (int)cap_max_bits();
		last = n > 0 && n <= 64 ? n - 1 : CAP_LAST_CAP;
	}
	return last;
}

uint64_t husk_caps_all(void)
{
	int last = last_cap();
	return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

int husk_cap_from_name(const char *name)
{
	char buf[64];
	size_t i = 0;
	if (strncasecmp(name, "CAP_", 4) != 0)
		i = (size_t)snprintf(buf, sizeof buf, "cap_");
	for (const char *p = name; *p; p++) {
		/* libcap's parser stops at blanks: "NET_ADMIN " would pass for NET_ADMIN. */
		if (i == sizeof buf - 1 || !(isalnum((unsigned char)*p) || *p == '_'))
			return -EINVAL;
		buf[i++] = (char)tolower((unsigned char)*p);
	}
	buf[i] = 0;
	cap_value_t v;
	if (cap_from_name(buf, &v) < 0 || (int)v > last_cap())
		return -EINVAL;
	return (int)v;
}

const char *husk_cap_name(int cap)
{
	static char names[64][40];
	/* libcap names a capability it does not know by its number: that is no name. */
	if (cap < 0 || cap > last_cap())
		return NULL;
	if (!names[cap][0]) {
		char *n = cap_to_name((cap_value_t)cap);
		if (!n)
			return NULL;
		if (!str_startswith(n, "cap_")) {
			cap_free(n);
			return NULL;
		}
		size_t k = 0;
		k = (size_t)snprintf(names[cap], sizeof names[cap], "%s", n);
		for (size_t i = 0; i < k; i++)
			names[cap][i] = (char)toupper((unsigned char)names[cap][i]);
		cap_free(n);
	}
	return names[cap];
}

static bool is_all(const char *s)
{
	return strcasecmp(s, "ALL") == 0 || strcasecmp(s, "CAP_ALL") == 0;
}

int husk_caps_adjust(uint64_t base, char *const *add, char *const *drop, uint64_t *out,
		     struct husk_error *err)
{
	uint64_t caps = base;
	for (size_t i = 0; drop && drop[i]; i++) {
		if (is_all(drop[i])) {
			caps = 0;
			continue;
		}
		int c = husk_cap_from_name(drop[i]);
		if (c < 0)
			return husk_error_set(err, -EINVAL, "unknown capability drop: \"%s\"",
					      drop[i]);
		caps &= ~(1ULL << c);
	}
	for (size_t i = 0; add && add[i]; i++) {
		if (is_all(add[i])) {
			caps = husk_caps_all();
			continue;
		}
		int c = husk_cap_from_name(add[i]);
		if (c < 0)
			return husk_error_set(err, -EINVAL, "unknown capability: \"%s\"", add[i]);
		caps |= 1ULL << c;
	}
	*out = caps;
	return 0;
}

int husk_caps_bound(uint64_t caps, struct husk_error *err)
{
	for (int c = 0; c <= last_cap(); c++) {
		if (caps & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return husk_error_sys(err, -errno, "drop capability %s from the bounding set",
					      str_or(husk_cap_name(c), "?"));
	}
	return 0;
}

int husk_caps_set(uint64_t caps, bool root, struct husk_error *err)
{
	cap_t c = cap_init(); /* all clear */
	if (!c)
		return husk_error_sys(err, -errno, "cap_init");
	if (root) {
		for (int i = 0; i <= last_cap(); i++) {
			if (!(caps & (1ULL << i)))
				continue;
			cap_value_t v = (cap_value_t)i;
			cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
			cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
		}
	}
	int r = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (r < 0)
		return husk_error_sys(err, -e, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return husk_error_sys(err, -errno, "clear ambient capabilities");
	return 0;
}
