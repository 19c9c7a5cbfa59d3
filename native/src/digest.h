/* SHA-256, the digest of OCI blobs ("sha256:" + 64 hex digits), through
 * OpenSSL's EVP interface, which uses the CPU's SHA extensions where it has
 * them (≈ 1.5 GB/s here, several times a portable implementation).
 *
 * Thread-safety: a digest_sha256 belongs to one thread at a time; different
 * ones may be used on different threads at once. digest_sha256_file may run
 * on any thread (it is called through nonblocking FFI). */
#ifndef OBD_DIGEST_H
#define OBD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_SIZE 32u

typedef struct digest_sha256 digest_sha256;

/* A fresh running hash. OBD_E_NOMEM when it cannot be allocated. */
int digest_sha256_new(digest_sha256 **out);

/* Adds n bytes (n may be 0). */
int digest_sha256_update(digest_sha256 *d, const void *buf, size_t n);

/* Writes the 32-byte digest of everything added to out; d starts over
 * empty afterwards. */
int digest_sha256_final(digest_sha256 *d, uint8_t out[DIGEST_SHA256_SIZE]);

/* NULL is allowed. */
void digest_sha256_free(digest_sha256 *d);

/* Hashes the whole file at path: the digest into out, its length into
 * *size. Because it is called from a worker thread, a failure's detail is
 * also copied into detail (cap bytes, NUL-terminated; may be NULL/0). */
int digest_sha256_file(const char *path, uint8_t out[DIGEST_SHA256_SIZE],
                       uint64_t *size, char *detail, size_t cap);

#endif
