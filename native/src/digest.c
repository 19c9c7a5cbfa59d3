#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "alloc.h"
#include "error.h"
#include "file.h"

/* Files are hashed in pieces of this size when they cannot be mapped. */
#define FILE_PIECE (1u << 20)

struct digest_sha256 {
  EVP_MD_CTX *ctx;
};

static int restart(digest_sha256 *d) {
  if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
    return obd_fail(OBD_E_NOMEM, "sha256: cannot start a digest");
  return 0;
}

int digest_sha256_new(digest_sha256 **out) {
  digest_sha256 *d = obd_calloc(1, sizeof *d);
  if (!d) return obd_fail(OBD_E_NOMEM, "sha256: state");
  d->ctx = EVP_MD_CTX_new();
  int rc = d->ctx ? restart(d) : obd_fail(OBD_E_NOMEM, "sha256: context");
  if (rc < 0) {
    digest_sha256_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

int digest_sha256_update(digest_sha256 *d, const void *buf, size_t n) {
  if (n && EVP_DigestUpdate(d->ctx, buf, n) != 1)
    return obd_fail(OBD_E_INVAL, "sha256: update of %zu bytes failed", n);
  return 0;
}

int digest_sha256_final(digest_sha256 *d, uint8_t out[DIGEST_SHA256_SIZE]) {
  unsigned len = 0;
  if (EVP_DigestFinal_ex(d->ctx, out, &len) != 1 || len != DIGEST_SHA256_SIZE)
    return obd_fail(OBD_E_INVAL, "sha256: final failed");
  return restart(d);
}

void digest_sha256_free(digest_sha256 *d) {
  if (!d) return;
  EVP_MD_CTX_free(d->ctx);
  obd_free(d);
}

static int hash_file(obd_file *f, digest_sha256 *d, uint8_t *piece) {
  uint64_t size = obd_file_size(f);
  const uint8_t *all = obd_file_map(f, 0, (size_t)size);
  if (all) return digest_sha256_update(d, all, (size_t)size);
  for (uint64_t off = 0; off < size; off += FILE_PIECE) {
    size_t n = size - off < FILE_PIECE ? (size_t)(size - off) : FILE_PIECE;
    OBD_TRY(obd_file_read_exact(f, piece, n, off));
    OBD_TRY(digest_sha256_update(d, piece, n));
  }
  return 0;
}

int digest_sha256_file(const char *path, uint8_t out[DIGEST_SHA256_SIZE],
                       uint64_t *size, char *detail, size_t cap) {
  obd_file *f = NULL;
  digest_sha256 *d = NULL;
  uint8_t *piece = obd_malloc(FILE_PIECE);
  int rc = piece ? 0 : obd_fail(OBD_E_NOMEM, "sha256 of %s: buffer", path);
  if (rc == 0) rc = obd_file_open_path(path, &f);
  if (rc == 0) rc = digest_sha256_new(&d);
  if (rc == 0) rc = hash_file(f, d, piece);
  if (rc == 0) rc = digest_sha256_final(d, out);
  if (rc == 0) *size = obd_file_size(f);
  if (rc < 0 && detail && cap) snprintf(detail, cap, "%s", obd_last_error());
  digest_sha256_free(d);
  obd_file_close(f);
  obd_free(piece);
  return rc;
}
