/* Seal (§2.8): the golden writable layer sealed in place reads as view.raw
 * with the layout the spec gives; sealing is idempotent, survives a torn
 * tail, works on sparse layers, and refuses what is not a writable layer. */
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "check.h"
#include "lsmt.h"
#include "lsmt_read.h"

#define MiB (1024ull * 1024)
#define VIEW_SIZE (12 * MiB)

/* Copies a golden file to a scratch path kept in out (check_tmp reuses its buffer). */
static const char *copy_vector(const char *rel, const char *name, char out[4096]) {
  size_t n;
  uint8_t *buf = check_slurp(check_vector(rel), &n);
  if (!buf) return NULL;
  snprintf(out, 4096, "%s", check_tmp(name));
  int rc = check_spill(out, buf, n);
  free(buf);
  return rc == 0 ? out : NULL;
}


/* Whether the sealed layer at path reads exactly like want (n bytes). */
static int reads_as(const char *path, const uint8_t *want, size_t n) {
  lsmt_ro *r;
  uint8_t *got = malloc(n);
  int ok = got && open_ro_path(path, &r) == 0;
  if (ok) {
    ok = ro_read(r, got, n, 0) == 0 && memcmp(got, want, n) == 0;
    lsmt_ro_close(r);
  }
  free(got);
  return ok;
}

static void test_seal_golden_layout(void) {
  char pd[4096], px[4096];
  const char *d = copy_vector("rw_append/writable_data", "g.data", pd);
  const char *x = copy_vector("rw_append/writable_index", "g.index", px);
  CHECK(d && x);
  lsmt_rw *l;
  lsmt_seg *idx;
  size_t n, dn, sn, vn;
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK(lsmt_rw_index(l, 0, &idx, &n) == 0);
  lsmt_header h = *lsmt_rw_header(l);
  CHECK(lsmt_rw_close(l) == 0);
  uint8_t *before = check_slurp(d, &dn);
  CHECK(before && dn % LSMT_SECTOR == 0);

  CHECK_EQ_U64(lsmt_seal(d, x), n);
  uint8_t *sealed = check_slurp(d, &sn), *view = check_slurp(check_vector("view.raw"), &vn);
  CHECK(sealed && view && vn == VIEW_SIZE);
  size_t ib = (n * LSMT_SEG_SIZE + 511) / 512 * 512;
  CHECK_EQ_U64(sn, dn + ib + LSMT_HEADER_SIZE);
  CHECK(memcmp(sealed, before, dn) == 0); /* header and data untouched */
  for (size_t i = 0; i < n; i++) {
    uint8_t rec[LSMT_SEG_SIZE];
    CHECK(lsmt_seg_encode(idx[i], rec, sizeof rec) == 0);
    CHECK(memcmp(sealed + dn + i * LSMT_SEG_SIZE, rec, sizeof rec) == 0);
  }
  for (size_t i = dn + n * LSMT_SEG_SIZE; i < dn + ib; i++) CHECK(sealed[i] == 0);
  lsmt_header t;
  CHECK(lsmt_header_decode(sealed + dn + ib, LSMT_HEADER_SIZE, &t) == 0);
  CHECK_EQ_U64(t.flags, LSMT_FLAG_DATA | LSMT_FLAG_SEALED);
  CHECK_EQ_U64(t.index_offset, dn);
  CHECK_EQ_U64(t.index_size, n);
  CHECK_EQ_U64(t.virtual_size, h.virtual_size);
  CHECK(strcmp(t.uuid, h.uuid) == 0 && strcmp(t.parent_uuid, h.parent_uuid) == 0);
  CHECK(t.user_tag[0] == 0 && t.version == 1 && t.sub_version == 1);
  CHECK(reads_as(d, view, VIEW_SIZE));

  /* Again: nothing changes (a commit retried after the seal landed). */
  CHECK_EQ_U64(lsmt_seal(d, x), n);
  size_t again_n;
  uint8_t *again = check_slurp(d, &again_n);
  CHECK(again && again_n == sn && memcmp(again, sealed, sn) == 0);
  free(again);
  free(before);
  free(sealed);
  free(view);
  obd_free(idx);
}

/* A seal torn before its trailer landed: the next one appends after the
 * torn bytes, at a sector boundary, and the layer reads the same. */
static void test_seal_after_torn_tail(void) {
  char pd[4096], px[4096];
  const char *d = copy_vector("rw_append/writable_data", "t.data", pd);
  const char *x = copy_vector("rw_append/writable_index", "t.index", px);
  CHECK(d && x);
  size_t dn, vn, sn;
  uint8_t *data = check_slurp(d, &dn), *view = check_slurp(check_vector("view.raw"), &vn);
  CHECK(data && view);
  uint8_t *torn = calloc(1, dn + 100);
  CHECK(torn);
  memcpy(torn, data, dn);
  memset(torn + dn, 0x5A, 100);
  CHECK(check_spill(d, torn, dn + 100) == 0);
  CHECK(lsmt_seal(d, x) > 0);
  uint8_t *sealed = check_slurp(d, &sn);
  CHECK(sealed);
  lsmt_header t;
  CHECK(lsmt_header_decode(sealed + sn - LSMT_HEADER_SIZE, LSMT_HEADER_SIZE, &t) == 0);
  CHECK_EQ_U64(t.index_offset, dn + 512);
  CHECK(reads_as(d, view, VIEW_SIZE));
  free(data);
  free(view);
  free(torn);
  free(sealed);
}

static void test_seal_sparse(void) {
  const char *d0 = check_tmp("s.data");
  char d[4096];
  snprintf(d, sizeof d, "%s", d0);
  size_t vsize = 8 * MiB;
  uint8_t *model = calloc(1, vsize), *buf = malloc(MiB);
  CHECK(model && buf);
  lsmt_rw_options opt = {.virtual_size = vsize, .sparse = 1};
  lsmt_rw *l;
  CHECK(lsmt_rw_create(d, NULL, &opt, &l) == 0);
  for (size_t i = 0; i < MiB; i++) buf[i] = (uint8_t)(i * 7 + 3);
  CHECK(lsmt_rw_pwrite(l, buf, MiB, 2 * MiB, 0) == (int64_t)MiB);
  CHECK(lsmt_rw_pwrite(l, buf, 8192, vsize - 8192, 0) == 8192);
  memcpy(model + 2 * MiB, buf, MiB);
  memcpy(model + vsize - 8192, buf, 8192);
  CHECK(lsmt_rw_close(l) == 0);
  CHECK(lsmt_seal(d, NULL) > 0);
  CHECK(reads_as(d, model, vsize));
  free(model);
  free(buf);
}

static void test_seal_refuses(void) {
  char pd[4096];
  CHECK(lsmt_seal(check_tmp("missing.data"), NULL) == OBD_E_NOTFOUND);
  /* A committed layer (header 0x07) and a file that is not LSMT at all. */
  const char *c = copy_vector("layer.lsmt", "c.lsmt", pd);
  CHECK(c);
  CHECK(lsmt_seal(c, NULL) == OBD_E_FORMAT);
  const char *z = copy_vector("layer.zfile", "z.zfile", pd);
  CHECK(z);
  CHECK(lsmt_seal(z, NULL) == OBD_E_FORMAT);
}

int main(void) {
  static const check_case cases[] = {
      {"seal golden layout", test_seal_golden_layout},
      {"seal after torn tail", test_seal_after_torn_tail},
      {"seal sparse", test_seal_sparse},
      {"seal refuses", test_seal_refuses},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
