/* layer_tar: plain, gzip (also several members and zero padding) and zstd
 * blobs decode to the same bytes with the right digests whatever the
 * reader's buffer size; damaged, cut and padded-with-garbage blobs fail
 * with the right code; closing early stops the decoder. Blobs are made by
 * the gzip and zstd programs. */
#include <stdint.h>

#include "check.h"
#include "digest.h"
#include "layer_tar.h"

#define HELLO_BLOB_HEX "022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"

/* Deterministic bytes that compress somewhat (runs of repeated values), or
 * not at all with seed 0 (zstd then stores raw blocks that end exactly at
 * chunk boundaries: a frame end there once read as a cut stream). */
static uint8_t *make_data(size_t n, uint32_t seed) {
  uint8_t *d = malloc(n);
  uint32_t x = seed ? seed : 1;
  for (size_t i = 0; i < n; i++) {
    if (seed == 0 || i % 64 == 0) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
    }
    d[i] = (uint8_t)(seed == 0 || i % 64 < 32 ? x : x >> (i % 8));
  }
  return d;
}

static int write_file(const char *path, const uint8_t *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(d, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

static int sh(const char *fmt, const char *a, const char *b) {
  char cmd[12000];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

/* Reads everything with reads of at most cap bytes; the count or an error. */
static int64_t drain(layer_tar *t, uint8_t *out, size_t max, size_t cap) {
  size_t got = 0;
  for (;;) {
    size_t want = max - got < cap ? max - got : cap;
    if (want == 0) want = 1; /* must see the end (or more bytes than expected) */
    uint8_t scratch;
    int64_t n = layer_tar_read(t, got < max ? out + got : &scratch, want);
    if (n <= 0) return n < 0 ? n : (int64_t)got;
    got += (size_t)n;
    if (got > max) return -100;
  }
}

static void sha(const uint8_t *d, size_t n, uint8_t out[32]) {
  digest_sha256 *h = NULL;
  if (digest_sha256_new(&h) == 0) {
    digest_sha256_update(h, d, n);
    digest_sha256_final(h, out);
  }
  digest_sha256_free(h);
}

/* Decodes path and checks the bytes and the tar digest against data. */
static int decodes_to(const char *path, const uint8_t *data, size_t n, size_t cap,
                      uint32_t compression) {
  layer_tar *t = NULL;
  if (layer_tar_open(path, 2 * LAYER_TAR_CHUNK, &t) < 0) return 0;
  uint8_t *out = malloc(n + 1);
  int64_t got = drain(t, out, n, cap);
  layer_tar_info info;
  layer_tar_get_info(t, &info);
  uint8_t want[32];
  sha(data, n, want);
  int ok = got == (int64_t)n && memcmp(out, data, n) == 0 && info.done == 1 &&
           info.tar_bytes == n && info.compression == compression &&
           info.blob_bytes == info.blob_size && memcmp(info.tar_sha256, want, 32) == 0;
  if (!ok)
    fprintf(stderr, "  %s: got %lld of %zu, done %u, compression %u: %s\n", path,
            (long long)got, n, info.done, info.compression, layer_tar_error(t));
  free(out);
  layer_tar_close(t);
  return ok;
}

static void test_plain_gzip_zstd(void) {
  size_t n = (5u << 20) + 123;
  uint8_t *data = make_data(n, 7);
  const char *p = check_tmp("lt-plain");
  CHECK(p && write_file(p, data, n) == 0);
  char plain[4096];
  snprintf(plain, sizeof plain, "%s", p);
  char gz[4200], zst[4200];
  snprintf(gz, sizeof gz, "%s.gz", plain);
  snprintf(zst, sizeof zst, "%s.zst", plain);
  CHECK(sh("gzip -c '%s' > '%s'", plain, gz) == 0);
  CHECK(sh("zstd -q -f '%s' -o '%s'", plain, zst) == 0);
  size_t caps[] = {511, 4096, LAYER_TAR_CHUNK, 3 * LAYER_TAR_CHUNK};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
    CHECK(decodes_to(plain, data, n, caps[i], LAYER_TAR_PLAIN));
    CHECK(decodes_to(gz, data, n, caps[i], LAYER_TAR_GZIP));
    CHECK(decodes_to(zst, data, n, caps[i], LAYER_TAR_ZSTD));
  }
  remove(plain);
  remove(gz);
  remove(zst);
  free(data);
}

static void test_incompressible(void) {
  size_t n = 3u << 20;
  uint8_t *data = make_data(n, 0);
  const char *p = check_tmp("lt-random");
  CHECK(p && write_file(p, data, n) == 0);
  char plain[4096], gz[4200], zst[4200];
  snprintf(plain, sizeof plain, "%s", p);
  snprintf(gz, sizeof gz, "%s.gz", plain);
  snprintf(zst, sizeof zst, "%s.zst", plain);
  CHECK(sh("gzip -c '%s' > '%s'", plain, gz) == 0);
  CHECK(sh("zstd -q -f '%s' -o '%s'", plain, zst) == 0);
  CHECK(decodes_to(gz, data, n, LAYER_TAR_CHUNK, LAYER_TAR_GZIP));
  CHECK(decodes_to(zst, data, n, LAYER_TAR_CHUNK, LAYER_TAR_ZSTD));
  remove(plain);
  remove(gz);
  remove(zst);
  free(data);
}

static void test_gzip_members_and_padding(void) {
  size_t n = 3u << 20;
  uint8_t *data = make_data(n, 9);
  const char *p = check_tmp("lt-members");
  CHECK(p);
  char a[4200], b[4200], cat[4200];
  snprintf(a, sizeof a, "%s.a", p);
  snprintf(b, sizeof b, "%s.b", p);
  snprintf(cat, sizeof cat, "%s.gz", p);
  CHECK(write_file(a, data, n / 3) == 0 && write_file(b, data + n / 3, n - n / 3) == 0);
  CHECK(sh("gzip -c '%s' > '%s'", a, cat) == 0);
  CHECK(sh("gzip -c '%s' >> '%s'", b, cat) == 0);
  CHECK(sh("head -c 1000 /dev/zero >> '%s'%s", cat, "") == 0);
  CHECK(decodes_to(cat, data, n, 65536, LAYER_TAR_GZIP));
  remove(a);
  remove(b);
  remove(cat);
  free(data);
}

/* Reads path to its end; the code read returned there. */
static int64_t failure_of(const char *path) {
  layer_tar *t = NULL;
  int rc = layer_tar_open(path, LAYER_TAR_CHUNK, &t);
  if (rc < 0) return rc;
  uint8_t *buf = malloc(LAYER_TAR_CHUNK);
  int64_t n;
  while ((n = layer_tar_read(t, buf, LAYER_TAR_CHUNK)) > 0) {}
  if (n < 0 && strstr(layer_tar_error(t), path) == NULL) n = -200; /* names the blob */
  free(buf);
  layer_tar_close(t);
  return n;
}

static void test_damage(void) {
  size_t n = 2u << 20;
  uint8_t *data = make_data(n, 11);
  const char *p = check_tmp("lt-damage");
  CHECK(p && write_file(p, data, n) == 0);
  char plain[4096], gz[4200], zst[4200];
  snprintf(plain, sizeof plain, "%s", p);
  snprintf(gz, sizeof gz, "%s.gz", plain);
  snprintf(zst, sizeof zst, "%s.zst", plain);
  CHECK(sh("gzip -c '%s' > '%s'", plain, gz) == 0);
  CHECK(sh("zstd -q -f '%s' -o '%s'", plain, zst) == 0);
  size_t glen = 0, zlen = 0;
  uint8_t *g = check_slurp(gz, &glen);
  uint8_t *z = check_slurp(zst, &zlen);
  CHECK(g && z);

  char bad[4200];
  snprintf(bad, sizeof bad, "%s.bad.gz", plain);
  g[glen / 2] ^= 0xff;
  CHECK(write_file(bad, g, glen) == 0);
  CHECK_EQ_U64(failure_of(bad), (uint64_t)(int64_t)OBD_E_CORRUPT);
  g[glen / 2] ^= 0xff;

  CHECK(write_file(bad, g, glen / 2) == 0);
  CHECK_EQ_U64(failure_of(bad), (uint64_t)(int64_t)OBD_E_TRUNCATED);
  CHECK(write_file(bad, g, glen - 4) == 0); /* trailer cut: the size is missing */
  CHECK(failure_of(bad) < 0);

  uint8_t *garbage = malloc(glen + 3);
  memcpy(garbage, g, glen);
  memcpy(garbage + glen, "xyz", 3);
  CHECK(write_file(bad, garbage, glen + 3) == 0);
  CHECK_EQ_U64(failure_of(bad), (uint64_t)(int64_t)OBD_E_CORRUPT);

  CHECK(write_file(bad, z, zlen / 2) == 0);
  CHECK_EQ_U64(failure_of(bad), (uint64_t)(int64_t)OBD_E_TRUNCATED);
  z[zlen / 2] ^= 0xff;
  CHECK(write_file(bad, z, zlen) == 0);
  CHECK(failure_of(bad) < 0);

  CHECK_EQ_U64(failure_of("/nonexistent/blob"), (uint64_t)(int64_t)OBD_E_NOTFOUND);
  free(garbage);
  free(g);
  free(z);
  remove(bad);
  remove(plain);
  remove(gz);
  remove(zst);
  free(data);
}

/* The blob digest is that of the file: the hello-world layer is named by it. */
static void test_blob_digest(void) {
  const char *path = check_vector("upstream/hello-world-registry/blobs/sha256/" HELLO_BLOB_HEX);
  layer_tar *t = NULL;
  CHECK(layer_tar_open(path, LAYER_TAR_CHUNK, &t) == 0);
  uint8_t buf[65536];
  int64_t n;
  while ((n = layer_tar_read(t, buf, sizeof buf)) > 0) {}
  layer_tar_info info;
  layer_tar_get_info(t, &info);
  layer_tar_close(t);
  CHECK(n == 0 && info.done);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", info.blob_sha256[i]);
  CHECK(strcmp(hex, HELLO_BLOB_HEX) == 0);

  uint8_t file_sha[32];
  uint64_t size = 0;
  char detail[128];
  CHECK(digest_sha256_file(path, file_sha, &size, detail, sizeof detail) == 0);
  CHECK(memcmp(file_sha, info.blob_sha256, 32) == 0 && size == info.blob_size);
  CHECK(digest_sha256_file("/nonexistent", file_sha, &size, detail, sizeof detail) ==
        OBD_E_NOTFOUND);
  CHECK(strstr(detail, "/nonexistent") != NULL);
}

/* Closing before the end stops a decoder that waits for room. */
static void test_close_early(void) {
  size_t n = 8u << 20;
  uint8_t *data = make_data(n, 13);
  const char *p = check_tmp("lt-early");
  CHECK(p && write_file(p, data, n) == 0);
  for (int reads = 0; reads < 3; reads++) {
    layer_tar *t = NULL;
    CHECK(layer_tar_open(p, 2 * LAYER_TAR_CHUNK, &t) == 0);
    uint8_t buf[4096];
    for (int i = 0; i < reads; i++) CHECK(layer_tar_read(t, buf, sizeof buf) == sizeof buf);
    layer_tar_close(t);
  }
  layer_tar_close(NULL);
  remove(p);
  free(data);
}

int main(void) {
  static const check_case cases[] = {
      {"plain, gzip and zstd decode to the same bytes and digest", test_plain_gzip_zstd},
      {"incompressible data (raw zstd blocks)", test_incompressible},
      {"gzip members and zero padding", test_gzip_members_and_padding},
      {"damaged, cut and padded blobs fail", test_damage},
      {"blob digest matches the file's", test_blob_digest},
      {"close before the end", test_close_early},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
