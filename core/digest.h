/* sha256 digests in OCI's "sha256:<64 lowercase hex>" form (libcrypto underneath). */
#pragma once

#include "util.h"

#define HUSK_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL, rounded */

struct husk_sha256 {
	void *ctx; /* EVP_MD_CTX */
	int64_t bytes;
};

void husk_sha256_init(struct husk_sha256 *h);
void husk_sha256_update(struct husk_sha256 *h, const void *p, size_t n);
/* Writes the digest and releases the context. */
void husk_sha256_final(struct husk_sha256 *h, char out[HUSK_DIGEST_SIZE]);
/* Releases a context that was not finalised (error paths); safe after final. */
void husk_sha256_free(struct husk_sha256 *h);

void husk_sha256_buf(const void *p, size_t n, char out[HUSK_DIGEST_SIZE]);
/* Hashes fd from its current offset to EOF; *size (optional) gets the byte count. */
int husk_sha256_fd(int fd, char out[HUSK_DIGEST_SIZE], int64_t *size);

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool husk_digest_valid(const char *d);
/* The hex part of a valid digest ("sha256:abc..." → "abc..."). */
static inline const char *husk_digest_hex(const char *d)
{
	return d + 7;
}

/* OCI chain id: the diff id for the bottom layer, else sha256(parent + " " + diff). */
void husk_chain_id(const char *parent_chain, const char *diff_id, char out[HUSK_DIGEST_SIZE]);
