/* Docker's reference grammar (distribution/reference) and its normalisation:
 *
 *   reference   := name [ ":" tag ] [ "@" digest ]
 *   name        := [domain "/"] path-component ["/" path-component]*
 *   domain      := host [":" port]   host: dns labels joined by ".", or "[" ipv6 "]"
 *   path-comp   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag         := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest      := algorithm ":" hex   (sha256 with 64 lowercase hex, sha384, sha512)
 *
 * The first component is a domain only when it looks like one (has "." or ":", is
 * "localhost", or has upper case); otherwise the domain is docker.io, and a single-component
 * name on docker.io lives under "library/". The messages are Docker's, word for word, because
 * scripts and tests match on them. */
#include "reference.h"

#include <ctype.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_LEN 255

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* One path component of length n: alnum runs joined by ".", "_", "__" or "-"+. */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		size_t sep = i;
		if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '.') {
			i++;
		} else {
			return false;
		}
		if (i == sep || i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* Every sep-separated part of s[0..n) is valid (empty parts are judged by valid too). */
static bool parts_valid(const char *s, size_t n, char sep, bool (*valid)(const char *, size_t))
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != sep)
			continue;
		if (!valid(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static bool path_valid(const char *s, size_t n)
{
	return parts_valid(s, n, '/', path_component_valid);
}

static bool dns_label_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool domain_valid(const char *s, size_t n)
{
	const char *colon = NULL;
	size_t host_len = n;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		host_len = (size_t)(close - s) + 1;
		if (host_len < n && s[host_len] != ':')
			return false;
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			host_len = (size_t)(colon - s);
		if (!parts_valid(s, host_len, '.', dns_label_valid))
			return false;
	}
	if (host_len == n)
		return true;
	/* ":" port */
	if (host_len + 1 == n)
		return false;
	for (size_t i = host_len + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool husk_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	if (n == 0 || n > 128 || !is_word(tag[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
			return false;
	return true;
}

/* The grammar part of a digest: algorithm components, ":" and at least 32 hex digits. */
static bool digest_grammar_valid(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d)
		return false;
	bool want_alpha = true;
	for (const char *p = d; p < colon; p++) {
		if (want_alpha) {
			if (!isalpha((unsigned char)*p))
				return false;
			want_alpha = false;
		} else if (strchr("+.-_", *p)) {
			want_alpha = true;
		} else if (!isalnum((unsigned char)*p)) {
			return false;
		}
	}
	if (want_alpha)
		return false;
	size_t n = strlen(colon + 1);
	if (n < 32)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

/* go-digest's Parse on top of the grammar: a known algorithm with its exact length. */
static int digest_check(const char *d, struct husk_error *err)
{
	static const struct {
		const char *alg;
		size_t len;
	} algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	const char *colon = strchr(d, ':');
	size_t alen = (size_t)(colon - d);
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		if (strlen(algs[i].alg) != alen || strncmp(d, algs[i].alg, alen) != 0)
			continue;
		const char *hex = colon + 1;
		for (const char *p = hex; *p; p++)
			if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
				return husk_error_set(err, -EINVAL,
						      "invalid checksum digest format");
		if (strlen(hex) != algs[i].len)
			return husk_error_set(err, -EINVAL, "invalid checksum digest length");
		return 0;
	}
	return husk_error_set(err, -EINVAL, "unsupported digest algorithm");
}

void husk_ref_clear(struct husk_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof *ref);
}

static bool is_anchored_identifier(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

/* distribution/reference's splitDockerDomain. */
static void split_domain(const char *s, char **domain, char **rest)
{
	const char *slash = strchr(s, '/');
	if (slash) {
		size_t n = (size_t)(slash - s);
		_cleanup_free_ char *first = xstrndup(s, n);
		bool lower = true;
		for (char *p = first; *p; p++)
			if (isupper((unsigned char)*p))
				lower = false;
		if (strpbrk(first, ".:") || streq(first, "localhost") || !lower) {
			*domain =
			    streq(first, LEGACY_DOMAIN) ? xstrdup(DEFAULT_DOMAIN) : TAKE_PTR(first);
			s = slash + 1;
		}
	}
	if (!*domain)
		*domain = xstrdup(DEFAULT_DOMAIN);
	if (streq(*domain, DEFAULT_DOMAIN) && !strchr(s, '/'))
		*rest = xasprintf(OFFICIAL_PREFIX "%s", s);
	else
		*rest = xstrdup(s);
}

/* Splits "path[:tag][@digest]" (the remainder after the domain) and validates the grammar. */
static bool split_remainder(const char *rest, char **path, char **tag, char **digest)
{
	_cleanup_free_ char *s = xstrdup(rest);
	char *at = strchr(s, '@');
	if (at) {
		*at = 0;
		if (!digest_grammar_valid(at + 1))
			return false;
		*digest = xstrdup(at + 1);
	}
	char *slash = strrchr(s, '/');
	char *colon = strrchr(slash ? slash : s, ':');
	if (colon) {
		*colon = 0;
		if (!husk_tag_valid(colon + 1))
			return false;
		*tag = xstrdup(colon + 1);
	}
	if (!path_valid(s, strlen(s)))
		return false;
	*path = xstrdup(s);
	return true;
}

static int parse_error(const char *whole, struct husk_error *err)
{
	if (!*whole)
		return husk_error_set(err, -EINVAL,
				      "repository name must have at least one component");
	return husk_error_set(err, -EINVAL, "invalid reference format");
}

int husk_ref_parse(const char *s, struct husk_ref *ref, struct husk_error *err)
{
	memset(ref, 0, sizeof *ref);
	if (!s || !*s)
		return parse_error("", err);
	if (is_anchored_identifier(s))
		return husk_error_set(err, -EINVAL,
				      "invalid repository name (%s), cannot specify 64-byte "
				      "hexadecimal strings",
				      s);
	_cleanup_free_ char *domain = NULL, *rest = NULL;
	split_domain(s, &domain, &rest);
	/* Docker checks case on the part before the first ":" and says so precisely. */
	_cleanup_free_ char *remote = xstrndup(rest, strcspn(rest, ":"));
	for (char *p = remote; *p; p++)
		if (isupper((unsigned char)*p))
			return husk_error_set(err, -EINVAL,
					      "invalid reference format: repository name (%s) must "
					      "be lowercase",
					      remote);
	struct husk_ref r = {0};
	if (!domain_valid(domain, strlen(domain)) ||
	    !split_remainder(rest, &r.path, &r.tag, &r.digest)) {
		husk_ref_clear(&r);
		return parse_error(s, err);
	}
	if (strlen(domain) + 1 + strlen(r.path) > NAME_MAX_LEN) {
		husk_ref_clear(&r);
		return husk_error_set(err, -EINVAL,
				      "repository name must not be more than 255 characters");
	}
	if (r.digest) {
		int k = digest_check(r.digest, err);
		if (k < 0) {
			husk_ref_clear(&r);
			return k;
		}
	}
	r.domain = TAKE_PTR(domain);
	if (!r.tag && !r.digest)
		r.tag = xstrdup("latest");
	*ref = r;
	return 0;
}

char *husk_ref_familiar_name(const struct husk_ref *ref)
{
	if (!streq(ref->domain, DEFAULT_DOMAIN))
		return xasprintf("%s/%s", ref->domain, ref->path);
	const char *p = str_startswith(ref->path, OFFICIAL_PREFIX);
	if (p && !strchr(p, '/'))
		return xstrdup(p);
	return xstrdup(ref->path);
}

static char *with_tag_digest(char *name, const struct husk_ref *ref)
{
	char *s = xasprintf("%s%s%s%s%s", name, ref->tag ? ":" : "", str_or(ref->tag, ""),
			    ref->digest ? "@" : "", str_or(ref->digest, ""));
	free(name);
	return s;
}

char *husk_ref_familiar(const struct husk_ref *ref)
{
	return with_tag_digest(husk_ref_familiar_name(ref), ref);
}

char *husk_ref_full(const struct husk_ref *ref)
{
	return with_tag_digest(xasprintf("%s/%s", ref->domain, ref->path), ref);
}
