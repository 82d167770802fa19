#include "passwd.h"

#include <ctype.h>

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int parse_id(const char *s, unsigned *out)
{
	int64_t v;
	if (parse_int64(s, &v) < 0 || v < 0 || v > 0x7fffffff)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Splits a colon-separated line into at most n fields (in place). */
static size_t split(char *line, char **f, size_t n)
{
	size_t k = 0;
	line[strcspn(line, "\n")] = 0;
	while (k < n) {
		f[k++] = line;
		char *c = strchr(line, ':');
		if (!c)
			break;
		*c = 0;
		line = c + 1;
	}
	return k;
}

/* Finds the passwd entry by name or uid; returns 1 when found. */
static int find_passwd(const char *path, const char *name, long uid, unsigned *out_uid,
		       unsigned *out_gid, char *home, size_t home_len, char *uname, size_t nlen)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		char *fl[7];
		if (line[0] == '#' || split(line, fl, 7) < 7)
			continue;
		unsigned u, g;
		if (parse_id(fl[2], &u) < 0 || parse_id(fl[3], &g) < 0)
			continue;
		if ((name && streq(fl[0], name)) || (!name && (long)u == uid)) {
			*out_uid = u;
			*out_gid = g;
			snprintf(home, home_len, "%s", fl[5]);
			snprintf(uname, nlen, "%s", fl[0]);
			return 1;
		}
	}
	return 0;
}

static int find_group(const char *path, const char *name, unsigned *gid)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *fl[4];
		if (line[0] == '#' || split(line, fl, 4) < 3)
			continue;
		if (streq(fl[0], name) && parse_id(fl[2], gid) == 0)
			return 1;
	}
	return 0;
}

static void member_groups(const char *path, const char *user, struct husk_user *u)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || !*user)
		return;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *fl[4];
		unsigned gid;
		if (line[0] == '#' || split(line, fl, 4) < 4 || parse_id(fl[2], &gid) < 0)
			continue;
		char *save = NULL;
		for (char *m = strtok_r(fl[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (streq(m, user) && u->n_groups < ARRAY_SIZE(u->groups)) {
				u->groups[u->n_groups++] = gid;
				break;
			}
		}
	}
}

int husk_user_resolve(const char *spec, char *const *extra, const char *passwd_path,
		      const char *group_path, struct husk_user *u, struct husk_error *err)
{
	memset(u, 0, sizeof *u);
	snprintf(u->home, sizeof u->home, "/");
	_cleanup_free_ char *s = xstrdup(str_or(spec, ""));
	char *grp = strchr(s, ':');
	if (grp)
		*grp++ = 0;
	char uname[256] = "";
	unsigned uid = 0, gid = 0, pu, pg;

	if (!*s || is_number(s)) {
		if (*s && parse_id(s, &uid) < 0)
			return husk_error_set(err, -EINVAL, "invalid user: %s", spec);
		/* A numeric user needs no entry; with one, it gives the group and home. */
		if (find_passwd(passwd_path, NULL, uid, &pu, &pg, u->home, sizeof u->home, uname,
				sizeof uname)) {
			gid = pg;
		}
	} else {
		if (!find_passwd(passwd_path, s, -1, &pu, &pg, u->home, sizeof u->home, uname,
				 sizeof uname))
			return husk_error_set(err, -EINVAL,
					      "unable to find user %s: no matching entries in "
					      "passwd file",
					      s);
		uid = pu;
		gid = pg;
	}
	if (grp && *grp) {
		if (is_number(grp)) {
			if (parse_id(grp, &gid) < 0)
				return husk_error_set(err, -EINVAL, "invalid group: %s", grp);
		} else if (!find_group(group_path, grp, &gid)) {
			return husk_error_set(err, -EINVAL,
					      "unable to find group %s: no matching entries in group "
					      "file",
					      grp);
		}
	}
	u->uid = uid;
	u->gid = gid;
	/* Supplementary groups come from membership only when no group was given explicitly. */
	if (!grp)
		member_groups(group_path, uname, u);
	for (size_t i = 0; extra && extra[i]; i++) {
		unsigned g;
		if (is_number(extra[i])) {
			if (parse_id(extra[i], &g) < 0)
				return husk_error_set(err, -EINVAL, "invalid group: %s", extra[i]);
		} else if (!find_group(group_path, extra[i], &g)) {
			return husk_error_set(err, -EINVAL,
					      "unable to find group %s: no matching entries in group "
					      "file",
					      extra[i]);
		}
		if (u->n_groups < ARRAY_SIZE(u->groups))
			u->groups[u->n_groups++] = g;
	}
	return 0;
}
