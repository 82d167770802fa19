#include "testutil.h"

#include "core/fs.h"

#include <stdlib.h>
#include <sys/stat.h>

char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/husk-unit-XXXXXX", str_empty(base) ? "/tmp" : base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	return dir;
}

void test_tmpdir_remove(char *dir)
{
	if (dir && rm_rf(dir) < 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(dir);
}

char *test_write_file(const char *dir, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f || fputs(content, f) == EOF || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

char *test_read_file(const char *path)
{
	char *s = NULL;
	if (read_file(path, &s, NULL, 64 << 20) < 0)
		return xstrdup("");
	return s;
}

void test_store(struct husk_store *s, const char *dir)
{
	memset(s, 0, sizeof *s);
	s->data = xasprintf("%s/data", dir);
	s->run = xasprintf("%s/run", dir);
	s->uid = getuid();
	s->gid = getgid();
	static const char *const sub[] = {"data/containers", "run/containers"};
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, sub[i]);
		if (mkdir_p(p, 0700) < 0) {
			perror(p);
			abort();
		}
	}
}

char *test_quotes(const char *s)
{
	char *q = xstrdup(s);
	for (char *c = q; *c; c++)
		if (*c == '\'')
			*c = '"';
	return q;
}

json_t *test_json(const char *s)
{
	_cleanup_free_ char *q = test_quotes(s);
	json_error_t je;
	json_t *j = json_loads(q, JSON_DECODE_ANY, &je);
	if (!j) {
		fprintf(stderr, "test_json: %s: %s\n", q, je.text);
		abort();
	}
	return j;
}

char *test_dump(const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	return s ? s : xstrdup("(null)");
}

char *test_join(char *const *v)
{
	char *s = xstrdup(v ? "" : "(null)");
	for (size_t i = 0; v && v[i]; i++) {
		char *n = xasprintf("%s%s%s", s, i ? "|" : "", v[i]);
		free(s);
		s = n;
	}
	return s;
}
