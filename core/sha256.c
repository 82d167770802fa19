/* sha256 through libcrypto: blobs, diff ids, chain ids. Linked only where images are
 * written (husk-helper), never into husk-api. */
#include "digest.h"
#include "ids.h"

#include <openssl/evp.h>

void husk_sha256_init(struct husk_sha256 *h)
{
	h->ctx = EVP_MD_CTX_new();
	h->bytes = 0;
	/* Allocation or init failures are out-of-memory, which we do not report. */
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
}

void husk_sha256_update(struct husk_sha256 *h, const void *p, size_t n)
{
	if (n == 0)
		return;
	EVP_DigestUpdate(h->ctx, p, n);
	h->bytes += (int64_t)n;
}

void husk_sha256_final(struct husk_sha256 *h, char out[HUSK_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_DigestFinal_ex(h->ctx, md, &len);
	memcpy(out, "sha256:", 7);
	husk_hex(md, len, out + 7);
	husk_sha256_free(h);
}

void husk_sha256_free(struct husk_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void husk_sha256_buf(const void *p, size_t n, char out[HUSK_DIGEST_SIZE])
{
	struct husk_sha256 h;
	husk_sha256_init(&h);
	husk_sha256_update(&h, p, n);
	husk_sha256_final(&h, out);
}

int husk_sha256_fd(int fd, char out[HUSK_DIGEST_SIZE], int64_t *size)
{
	struct husk_sha256 h;
	char buf[65536];
	husk_sha256_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			husk_sha256_free(&h);
			return r;
		}
		if (n == 0)
			break;
		husk_sha256_update(&h, buf, (size_t)n);
	}
	if (size)
		*size = h.bytes;
	husk_sha256_final(&h, out);
	return 0;
}

void husk_chain_id(const char *parent_chain, const char *diff_id, char out[HUSK_DIGEST_SIZE])
{
	if (!parent_chain) {
		snprintf(out, HUSK_DIGEST_SIZE, "%s", diff_id);
		return;
	}
	_cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
	husk_sha256_buf(s, strlen(s), out);
}
