/* blob_pack: committing an open writable layer into a plain LSMT file, then
 * packing that into a tar-wrapped ZFile, gives the same bytes as committing
 * straight into a ZFile writer inside the tar wrapper (what `overlaybd-commit
 * -z -t` does), for LZ4 and zstd; the digest is that of the file; scratch
 * sinks and layers write the same bytes as durable ones; failures name the
 * file and leave no output. */
#include <stdint.h>

#include "blob_pack.h"
#include "check.h"
#include "file.h"
#include "lsmt.h"
#include "tar.h"
#include "zfile.h"

#define KiB 1024u
#define MiB (1024u * KiB)
#define UUID "12345678-9abc-def0-1234-56789abcdef0"
#define PARENT "0fedcba9-8765-4321-0fed-cba987654321"

/* A sparse writable layer with data here and there and a discarded range. */
static lsmt_rw *make_layer(const char *data_path) {
  lsmt_rw_options opt = {.virtual_size = 64 * MiB, .sparse = 1};
  lsmt_rw *l = NULL;
  if (lsmt_rw_create(data_path, NULL, &opt, &l) < 0) return NULL;
  uint8_t *buf = malloc(MiB);
  for (size_t i = 0; i < MiB; i++) buf[i] = (uint8_t)(i * 7 + i / 4096);
  int ok = lsmt_rw_pwrite(l, buf, MiB, 0, 0) == (int64_t)MiB &&
           lsmt_rw_pwrite(l, buf + 4096, 64 * KiB, 5 * MiB, 0) == (int64_t)(64 * KiB) &&
           lsmt_rw_discard(l, 8 * MiB, 2 * MiB, 0) == 0 &&
           lsmt_rw_pwrite(l, buf, 4 * KiB, 40 * MiB, 0) == (int64_t)(4 * KiB);
  free(buf);
  if (!ok) {
    lsmt_rw_close(l);
    return NULL;
  }
  return l;
}

/* The reference: lsmt_commit through ZFile writer, tar wrapper, file. */
static int commit_direct(lsmt_rw *l, const char *out, uint8_t algo) {
  zfile_options zo;
  zfile_options_default(&zo);
  zo.algo = algo;
  obd_sink *file = NULL, *tar = NULL, *z = NULL;
  OBD_TRY(obd_sink_open_path(out, 0644, &file));
  OBD_TRY(tar_writer_open(file, 1, 0100644, &tar));
  OBD_TRY(zfile_writer_open(tar, 1, &zo, &z));
  lsmt_commit_options co = {.uuid = UUID, .parent_uuid = PARENT};
  int rc = lsmt_commit(l, z, &co);
  int closed = obd_sink_close(z);
  return rc < 0 ? rc : closed;
}

static int same_file(const char *a, const char *b) {
  size_t la = 0, lb = 0;
  uint8_t *x = check_slurp(a, &la), *y = check_slurp(b, &lb);
  int same = x && y && la == lb && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return same;
}

static void test_same_bytes(void) {
  char data[4096], plain[4200], packed[4200], direct[4200];
  snprintf(data, sizeof data, "%s", check_tmp("bp-data"));
  snprintf(plain, sizeof plain, "%s.lsmt", data);
  snprintf(packed, sizeof packed, "%s.commit", data);
  snprintf(direct, sizeof direct, "%s.direct", data);
  lsmt_rw *l = make_layer(data);
  CHECK(l);
  lsmt_rw_set_sync(l, 0);
  uint8_t algos[] = {ZFILE_ALGO_LZ4, ZFILE_ALGO_ZSTD};
  for (size_t i = 0; i < 2; i++) {
    char detail[256] = "";
    CHECK(blob_commit(l, plain, UUID, PARENT, detail, sizeof detail) == 0);
    blob_pack_result res;
    CHECK(blob_pack(plain, packed, algos[i], 4096, &res, detail, sizeof detail) == 0);
    CHECK(commit_direct(l, direct, algos[i]) == 0);
    CHECK(same_file(packed, direct));
    uint8_t sha[32];
    uint64_t size = 0;
    CHECK(digest_sha256_file(direct, sha, &size, NULL, 0) == 0);
    CHECK(memcmp(sha, res.sha256, 32) == 0);
    CHECK_EQ_U64(res.size, size);
  }
  CHECK(lsmt_rw_close(l) == 0);
  remove(data);
  remove(plain);
  remove(packed);
  remove(direct);
}

static void test_failures(void) {
  char detail[256] = "";
  blob_pack_result res;
  const char *out = check_tmp("bp-out");
  CHECK(blob_pack("/nonexistent/layer", out, ZFILE_ALGO_LZ4, 4096, &res, detail,
                  sizeof detail) == OBD_E_NOTFOUND);
  CHECK(strstr(detail, "/nonexistent/layer") != NULL);
  CHECK(access(out, F_OK) != 0);

  char data[4096];
  snprintf(data, sizeof data, "%s", check_tmp("bp-data2"));
  lsmt_rw *l = make_layer(data);
  CHECK(l);
  CHECK(blob_commit(l, "/nonexistent/dir/out", NULL, NULL, detail, sizeof detail) ==
        OBD_E_IO);
  CHECK(strstr(detail, "/nonexistent/dir/out") != NULL);
  char plain[4200];
  snprintf(plain, sizeof plain, "%s.lsmt", data);
  CHECK(blob_commit(l, plain, NULL, NULL, NULL, 0) == 0);
  CHECK(blob_pack(plain, out, ZFILE_ALGO_LZ4, 1000, &res, detail, sizeof detail) ==
        OBD_E_INVAL); /* not a power of two */
  CHECK(access(out, F_OK) != 0);
  CHECK(lsmt_rw_close(l) == 0);
  remove(data);
  remove(plain);
}

/* A scratch sink writes what a durable one writes; only close differs. */
static void test_scratch_sink(void) {
  const char *p = check_tmp("bp-scratch");
  obd_sink *s = NULL;
  CHECK(obd_sink_open_scratch(p, 0600, &s) == 0);
  CHECK(obd_sink_write(s, "hello world", 11) == 0);
  CHECK(obd_sink_rewrite(s, "J", 1, 6) == 0);
  CHECK(obd_sink_close(s) == 0);
  size_t n = 0;
  uint8_t *b = check_slurp(p, &n);
  CHECK(b && n == 11 && memcmp(b, "hello Jorld", 11) == 0);
  free(b);
  remove(p);
}

int main(void) {
  static const check_case cases[] = {
      {"commit then pack = commit into a ZFile", test_same_bytes},
      {"failures name the file and leave no output", test_failures},
      {"scratch sink", test_scratch_sink},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
