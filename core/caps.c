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

/* The mask of names; *all when "ALL" is among them. Docker's message for an unknown name. */
static int caps_mask(char *const *names, uint64_t *mask, bool *all, struct husk_error *err)
{
	*mask = 0;
	*all = false;
	for (size_t i = 0; names && names[i]; i++) {
		if (is_all(names[i])) {
			*all = true;
			continue;
		}
		int c = husk_cap_from_name(names[i]);
		if (c < 0) {
			char up[64];
			size_t n = 0;
			for (; names[i][n] && n < sizeof up - 1; n++)
				up[n] = (char)toupper((unsigned char)names[i][n]);
			up[n] = 0;
			return husk_error_set(err, -EINVAL, "unknown capability: \"%s%s\"",
					      str_startswith(up, "CAP_") ? "" : "CAP_", up);
		}
		*mask |= 1ULL << c;
	}
	return 0;
}

int husk_caps_adjust(uint64_t base, char *const *add, char *const *drop, uint64_t *out,
		     struct husk_error *err)
{
	uint64_t add_mask, drop_mask;
	bool add_all, drop_all;
	int r = caps_mask(drop, &drop_mask, &drop_all, err);
	if (r < 0)
		return r;
	r = caps_mask(add, &add_mask, &add_all, err);
	if (r < 0)
		return r;
	/* moby's TweakCapabilities: ALL added wins over ALL dropped and keeps out only the
	 * named drops; ALL dropped leaves only what is added. */
	if (add_all)
		*out = husk_caps_all() & ~drop_mask;
	else if (drop_all)
		*out = add_mask;
	else
		*out = (base & ~drop_mask) | add_mask;
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
