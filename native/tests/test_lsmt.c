/* LSMT layers against the golden vectors of spec §12/§14.2, random round
 * trips against a byte model, and a must-fail corpus. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "alloc.h"
#include "check.h"
#include "le.h"
#include "lsmt.h"
#include "lsmt_read.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define VIEW_SIZE (12 * MiB)
#define GOLDEN_UUID "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"
#define GOLDEN_PARENT "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
#define RW_UUID "11111111-2222-3333-4444-555555555555"

/* ---- helpers ---- */

typedef struct rec {
  uint64_t offset;
  uint32_t length;
  uint64_t moffset;
  int zeroed;
} rec;

/* §12: the index log of the golden writable layer, and its committed index. */
static const rec golden_log[] = {
    {0, 16, 8, 0},          {2048, 8, 24, 0},       {8, 8, 32, 0},
    {4096, 128, 40, 0},     {4128, 32, 168, 1},     {16384, 8192, 168, 0},
    {24576, 2048, 8360, 0}, {40960, 16383, 10408, 1}, {57343, 2049, 10408, 1},
    {131071, 1, 10408, 0}};
static const rec golden_committed[] = {
    {0, 16, 8, 0},         {2048, 8, 24, 0},          {4096, 32, 32, 0},
    {4128, 32, 64, 1},     {4160, 64, 64, 0},         {16384, 10240, 128, 0},
    {40960, 16383, 10368, 1}, {57343, 2049, 10368, 1}, {131071, 1, 10368, 0}};

static int seg_is(lsmt_seg s, rec r) {
  return lsmt_seg_offset(s) == r.offset && lsmt_seg_length(s) == r.length &&
         lsmt_seg_moffset(s) == r.moffset && lsmt_seg_zeroed(s) == r.zeroed &&
         lsmt_seg_tag(s) == 0;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n ? (size_t)n : 1);
  if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (len) *len = (size_t)n;
  return p;
}

static int spill(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(p, 1, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* A scratch copy of a vector (sparse holes kept), so nothing opens the
 * golden files for writing. */
static const char *copy_vector(const char *rel, const char *name) {
  static char dst[8][4096];
  static int next;
  char *d = dst[next++ % 8];
  snprintf(d, 4096, "%s", check_tmp(name));
  char src[4096], cmd[9000];
  snprintf(src, sizeof src, "%s", check_vector(rel));
  snprintf(cmd, sizeof cmd, "cp --sparse=always '%s' '%s' && chmod u+w '%s'", src, d, d);
  return system(cmd) == 0 ? d : NULL;
}

static int files_equal(const char *a, const char *b) {
  size_t na, nb;
  uint8_t *pa = slurp(a, &na), *pb = slurp(b, &nb);
  int eq = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return eq;
}


/* An in-memory obd_file for the must-fail corpus. */
typedef struct mem_file {
  obd_file base;
  const uint8_t *p;
} mem_file;

static int64_t mem_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  const mem_file *m = (const mem_file *)f;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  memcpy(buf, m->p + off, n);
  return (int64_t)n;
}

static void mem_close(obd_file *f) { (void)f; }

static const obd_file_ops mem_ops = {.pread = mem_pread, .close = mem_close};

static int open_mem(const uint8_t *p, size_t n) {
  mem_file m;
  lsmt_ro *l;
  obd_file_init(&m.base, &mem_ops, n, "corpus.lsmt");
  m.p = p;
  int rc = lsmt_ro_open(&m.base, 0, &l);
  if (rc == 0) lsmt_ro_close(l);
  return rc;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* ---- codecs ---- */

static void test_codecs(void) {
  size_t n;
  uint8_t *file = slurp(check_vector("layer.lsmt"), &n);
  CHECK(file);
  lsmt_header h;
  uint8_t again[LSMT_HEADER_SIZE];
  CHECK(lsmt_header_decode(file, n, &h) == 0);
  CHECK_EQ_U64(h.flags, 0x07);
  CHECK(strcmp(h.uuid, GOLDEN_UUID) == 0 && strcmp(h.parent_uuid, GOLDEN_PARENT) == 0);
  CHECK(strcmp(h.user_tag, "golden commit") == 0);
  CHECK(h.version == 1 && h.sub_version == 1 && h.virtual_size == 64 * MiB);
  CHECK(lsmt_header_encode(&h, again, sizeof again) == 0);
  CHECK(memcmp(again, file, LSMT_HEADER_SIZE) == 0);
  CHECK(lsmt_header_decode(file + n - LSMT_HEADER_SIZE, LSMT_HEADER_SIZE, &h) == 0);
  CHECK(lsmt_header_encode(&h, again, sizeof again) == 0);
  CHECK(memcmp(again, file + n - LSMT_HEADER_SIZE, LSMT_HEADER_SIZE) == 0);
  /* A 256-byte user tag has no NUL on disk and survives a round trip. */
  memset(h.user_tag, 'x', 256);
  h.user_tag[256] = '\0';
  CHECK(lsmt_header_encode(&h, again, sizeof again) == 0);
  CHECK(again[134 + 255] == 'x' && again[390] == 0);
  CHECK(lsmt_header_decode(again, sizeof again, &h) == 0 && strlen(h.user_tag) == 256);
  CHECK(lsmt_header_decode(file, 4095, &h) == OBD_E_TRUNCATED);
  CHECK(lsmt_header_encode(&h, again, 4095) == OBD_E_INVAL);
  again[8] ^= 1;
  CHECK(lsmt_header_decode(again, sizeof again, &h) == OBD_E_FORMAT);
  free(file);
}

static void test_seg_codec(void) {
  static const uint8_t pad[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0};
  uint8_t buf[16];
  lsmt_seg s = lsmt_seg_make(LSMT_INVALID_OFFSET, 0, 0, 0, 0);
  CHECK(lsmt_seg_encode(s, buf, sizeof buf) == 0);
  CHECK(memcmp(buf, pad, 16) == 0);
  CHECK(!lsmt_seg_valid(s));
  /* §2.3 bit layout: upper's second log record is {0, 8, 16, zeroed, tag 1}. */
  static const uint8_t zrec[16] = {0, 0, 0, 0, 0, 0, 0x20, 0, 0x10, 0, 0, 0, 0, 0, 0x80, 0x01};
  CHECK(lsmt_seg_decode(zrec, 16, &s) == 0);
  CHECK(lsmt_seg_offset(s) == 0 && lsmt_seg_length(s) == 8 && lsmt_seg_moffset(s) == 16);
  CHECK(lsmt_seg_zeroed(s) == 1 && lsmt_seg_tag(s) == 1);
  s = lsmt_seg_make((1ull << 50) - 2, 16383, (1ull << 55) - 1, 1, 255);
  CHECK(lsmt_seg_encode(s, buf, 16) == 0);
  lsmt_seg t;
  CHECK(lsmt_seg_decode(buf, 16, &t) == 0 && t.w0 == s.w0 && t.w1 == s.w1);
  CHECK(lsmt_seg_length(t) == 16383 && lsmt_seg_tag(t) == 255);
  CHECK(lsmt_seg_decode(buf, 15, &t) == OBD_E_TRUNCATED);
  CHECK(lsmt_seg_encode(s, buf, 15) == OBD_E_INVAL);
}

/* ---- golden writable layers ---- */

static void test_rw_append_golden(void) {
  const char *d = copy_vector("rw_append/writable_data", "ga.data");
  const char *x = copy_vector("rw_append/writable_index", "ga.index");
  CHECK(d && x);
  size_t vn;
  uint8_t *view = slurp(check_vector("view.raw"), &vn), *got = malloc(VIEW_SIZE);
  lsmt_rw *l;
  CHECK(view && vn == VIEW_SIZE && got);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK(strcmp(lsmt_rw_header(l)->uuid, RW_UUID) == 0);
  CHECK_EQ_U64(lsmt_rw_header(l)->flags, 0x03);
  uint64_t allocs = obd_alloc_count();
  CHECK(lsmt_rw_pread(l, got, VIEW_SIZE, 0) == (int64_t)VIEW_SIZE);
  CHECK_EQ_U64(obd_alloc_count(), allocs); /* reads never allocate */
  CHECK(memcmp(got, view, VIEW_SIZE) == 0);
  lsmt_seg *idx;
  size_t n;
  CHECK(lsmt_rw_index(l, 0, &idx, &n) == 0);
  /* 10 log records; the overwrite splits [0,16) and the discard splits
   * [4096,4224) in three. */
  CHECK_EQ_U64(n, 11);
  CHECK(lsmt_seg_offset(idx[1]) == 8 && lsmt_seg_moffset(idx[1]) == 32);
  CHECK(lsmt_seg_offset(idx[5]) == 4160 && lsmt_seg_moffset(idx[5]) == 40 + 64);
  obd_free(idx);
  CHECK(lsmt_rw_close(l) == 0);
  free(view);
  free(got);
}

/* Performs §12's writes on a fresh layer; write i's bytes are whatever the
 * golden data file holds at its logged moffset (the first 8 KiB write's
 * second half is overwritten later, so view.raw does not show it). */
static void test_rw_append_sequence(void) {
  const char *d = check_tmp("seq.data"), *x;
  char dpath[4096];
  snprintf(dpath, sizeof dpath, "%s", d);
  x = check_tmp("seq.index");
  size_t gn, vn;
  uint8_t *g = slurp(check_vector("rw_append/writable_data"), &gn);
  uint8_t *view = slurp(check_vector("view.raw"), &vn), *got = malloc(VIEW_SIZE);
  CHECK(g && view && got);
  lsmt_rw_options opt = {.virtual_size = 64 * MiB, .uuid = RW_UUID, .parent_uuid = GOLDEN_PARENT};
  lsmt_rw *l;
  CHECK(lsmt_rw_create(dpath, x, &opt, &l) == 0);
  CHECK(lsmt_rw_pwrite(l, g + 8 * 512, 8 * KiB, 0, 0) == (int64_t)(8 * KiB));
  CHECK(lsmt_rw_pwrite(l, g + 24 * 512, 4 * KiB, 1 * MiB, 0) == (int64_t)(4 * KiB));
  CHECK(lsmt_rw_pwrite(l, g + 32 * 512, 4 * KiB, 4 * KiB, 0) == (int64_t)(4 * KiB));
  CHECK(lsmt_rw_pwrite(l, g + 40 * 512, 64 * KiB, 2 * MiB, 0) == (int64_t)(64 * KiB));
  CHECK(lsmt_rw_discard(l, 2 * MiB + 16 * KiB, 16 * KiB, 0) == 0);
  CHECK(lsmt_rw_pwrite(l, g + 168 * 512, 5 * MiB, 8 * MiB, 0) == (int64_t)(5 * MiB));
  CHECK(lsmt_rw_discard(l, 20 * MiB, 9 * MiB, 0) == 0);
  CHECK(lsmt_rw_pwrite(l, g + 10408 * 512, 512, 64 * MiB - 512, 0) == 512);
  CHECK(lsmt_rw_pread(l, got, VIEW_SIZE, 0) == (int64_t)VIEW_SIZE);
  CHECK(memcmp(got, view, VIEW_SIZE) == 0); /* the data chosen is what view.raw shows */
  CHECK(lsmt_rw_close(l) == 0);
  size_t xn;
  uint8_t *xi = slurp(x, &xn);
  CHECK(xi && xn == LSMT_HEADER_SIZE + 10 * LSMT_SEG_SIZE);
  for (size_t i = 0; i < 10; i++) {
    lsmt_seg s;
    CHECK(lsmt_seg_decode(xi + LSMT_HEADER_SIZE + 16 * i, 16, &s) == 0);
    CHECK(seg_is(s, golden_log[i]));
  }
  free(xi);
  CHECK(files_equal(x, check_vector("rw_append/writable_index")));
  CHECK(files_equal(dpath, check_vector("rw_append/writable_data")));
  free(g);
  free(view);
  free(got);
}

static void test_commit_golden(void) {
  const char *d = copy_vector("rw_append/writable_data", "gc.data");
  const char *x = copy_vector("rw_append/writable_index", "gc.index");
  char out[4096];
  snprintf(out, sizeof out, "%s", check_tmp("gc.lsmt"));
  lsmt_rw *l;
  obd_sink *sink;
  CHECK(d && x);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK(obd_sink_open_path(out, 0644, &sink) == 0);
  lsmt_commit_options opt = {.uuid = GOLDEN_UUID, .parent_uuid = GOLDEN_PARENT,
                             .user_tag = "golden commit"};
  CHECK(lsmt_commit(l, sink, &opt) == 0);
  CHECK(obd_sink_close(sink) == 0);
  CHECK(lsmt_rw_close(l) == 0);
  CHECK(files_equal(out, check_vector("layer.lsmt")));
  lsmt_ro *r;
  size_t n;
  CHECK(open_ro_path(out, &r) == 0);
  const lsmt_seg *idx = lsmt_ro_index(r, &n);
  CHECK_EQ_U64(n, 9);
  for (size_t i = 0; i < n; i++) CHECK(seg_is(idx[i], golden_committed[i]));
  lsmt_ro_close(r);
}

static void test_rw_sparse_golden(void) {
  const char *d = copy_vector("rw_sparse/writable_data", "gs.data");
  size_t vn, gn;
  uint8_t *view = slurp(check_vector("view.raw"), &vn), *got = malloc(VIEW_SIZE);
  uint8_t *g = slurp(check_vector("rw_append/writable_data"), &gn);
  lsmt_rw *l;
  CHECK(d && view && got && g);
  CHECK(lsmt_rw_open(d, NULL, &l) == 0);
  CHECK_EQ_U64(lsmt_rw_header(l)->flags, 0x13);
  CHECK_EQ_U64(lsmt_rw_header(l)->virtual_size, 64 * MiB);
  CHECK(lsmt_rw_pread(l, got, VIEW_SIZE, 0) == (int64_t)VIEW_SIZE);
  CHECK(memcmp(got, view, VIEW_SIZE) == 0);
  CHECK(lsmt_rw_pread(l, got, 512, 64 * MiB - 512) == 512);
  CHECK(memcmp(got, g + 10408 * 512, 512) == 0);
  /* Extents become data mappings with moffset = file offset / 512. */
  lsmt_seg s[4];
  CHECK(lsmt_rw_lookup(l, 0, 8192, s, 4) >= 2);
  CHECK(lsmt_seg_offset(s[0]) == 0 && lsmt_seg_moffset(s[0]) == 8 && !lsmt_seg_zeroed(s[0]));
  CHECK(lsmt_seg_offset(s[1]) == 2048 && lsmt_seg_moffset(s[1]) == 2056);
  CHECK(lsmt_rw_close(l) == 0);
  free(view);
  free(got);
  free(g);
}

static void test_ro_golden(void) {
  size_t vn;
  uint8_t *view = slurp(check_vector("view.raw"), &vn), *got = malloc(VIEW_SIZE);
  lsmt_ro *l;
  CHECK(view && got);
  CHECK(open_ro_path(check_vector("layer.lsmt"), &l) == 0);
  const lsmt_header *t = lsmt_ro_trailer(l);
  CHECK_EQ_U64(t->flags, 0x06);
  CHECK_EQ_U64(t->index_offset, 5308928);
  CHECK_EQ_U64(t->index_size, 256);
  CHECK_EQ_U64(t->virtual_size, 64 * MiB);
  CHECK(strcmp(t->uuid, GOLDEN_UUID) == 0 && strcmp(t->parent_uuid, GOLDEN_PARENT) == 0);
  CHECK(strcmp(t->user_tag, "golden commit") == 0);
  CHECK_EQ_U64(lsmt_ro_header(l)->flags, 0x07);
  size_t n;
  const lsmt_seg *idx = lsmt_ro_index(l, &n);
  CHECK_EQ_U64(n, 9);
  for (size_t i = 0; i < n; i++) CHECK(seg_is(idx[i], golden_committed[i]));
  uint64_t allocs = obd_alloc_count();
  CHECK(ro_read(l, got, VIEW_SIZE, 0) == 0);
  CHECK_EQ_U64(obd_alloc_count(), allocs); /* lookups and reads never allocate */
  CHECK(memcmp(got, view, VIEW_SIZE) == 0);
  lsmt_ro_close(l);
  free(view);
  free(got);
}

/* The upper layer of the stacked vector: logged with tag 1, read alone. */
static void test_upper_golden(void) {
  const char *d = copy_vector("upper/writable_data", "gu.data");
  const char *x = copy_vector("upper/writable_index", "gu.index");
  size_t sn;
  uint8_t *stacked = slurp(check_vector("stacked_view.raw"), &sn), got[8192];
  lsmt_rw *l;
  CHECK(d && x && stacked);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  /* Created with 0, rewritten to the lower's 64 MiB when stacked (§2.12). */
  CHECK_EQ_U64(lsmt_rw_header(l)->virtual_size, 64 * MiB);
  lsmt_seg *idx;
  size_t n;
  CHECK(lsmt_rw_index(l, 7, &idx, &n) == 0);
  CHECK_EQ_U64(n, 2);
  CHECK(lsmt_seg_offset(idx[0]) == 0 && lsmt_seg_length(idx[0]) == 8 && lsmt_seg_zeroed(idx[0]));
  CHECK(lsmt_seg_offset(idx[1]) == 4096 && lsmt_seg_moffset(idx[1]) == 8);
  CHECK(lsmt_seg_tag(idx[0]) == 7 && lsmt_seg_tag(idx[1]) == 7);
  obd_free(idx);
  lsmt_seg s;
  CHECK(lsmt_rw_lookup(l, 0, 100000, &s, 1) == 1 && lsmt_seg_tag(s) == 0); /* forced 0 */
  CHECK(lsmt_rw_pread(l, got, sizeof got, 2 * MiB) == (int64_t)sizeof got);
  CHECK(memcmp(got, stacked + 2 * MiB, 4096) == 0);
  for (size_t i = 4096; i < sizeof got; i++) CHECK(got[i] == 0); /* a hole alone */
  CHECK(lsmt_rw_pread(l, got, 4096, 0) == 4096);
  CHECK(memcmp(got, stacked, 4096) == 0); /* zeroed hides the lower layer */
  CHECK(lsmt_rw_close(l) == 0);
  free(stacked);
}

/* A sealed layer (§2.8) built by hand from the golden writable layer: RW
 * header 0x03 at offset 0, unmerged index at the data end, unpadded count. */
static void test_sealed_layer(void) {
  const char *d = copy_vector("rw_append/writable_data", "seal.data");
  const char *x = copy_vector("rw_append/writable_index", "seal.index");
  lsmt_rw *l;
  lsmt_seg *idx;
  size_t n, dn, vn;
  CHECK(d && x);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK(lsmt_rw_index(l, 0, &idx, &n) == 0);
  lsmt_header h = *lsmt_rw_header(l);
  CHECK(lsmt_rw_close(l) == 0);
  uint8_t *data = slurp(d, &dn), *view = slurp(check_vector("view.raw"), &vn);
  size_t ib = (n * 16 + 511) / 512 * 512, total = dn + ib + LSMT_HEADER_SIZE;
  uint8_t *file = calloc(1, total), *got = malloc(VIEW_SIZE);
  CHECK(data && view && file && got);
  memcpy(file, data, dn);
  memset(file + dn + n * 16, 0xAB, ib - n * 16); /* unspecified padding */
  for (size_t i = 0; i < n; i++) CHECK(lsmt_seg_encode(idx[i], file + dn + 16 * i, 16) == 0);
  h.flags = LSMT_FLAG_DATA | LSMT_FLAG_SEALED;
  h.index_offset = dn;
  h.index_size = n;
  CHECK(lsmt_header_encode(&h, file + dn + ib, LSMT_HEADER_SIZE) == 0);
  mem_file m;
  lsmt_ro *r;
  obd_file_init(&m.base, &mem_ops, total, "sealed");
  m.p = file;
  CHECK(lsmt_ro_open(&m.base, 0, &r) == 0);
  CHECK(ro_read(r, got, VIEW_SIZE, 0) == 0);
  CHECK(memcmp(got, view, VIEW_SIZE) == 0);
  lsmt_ro_close(r);
  obd_free(idx);
  free(data);
  free(view);
  free(file);
  free(got);
}

/* ---- random round trips against a byte model ---- */

#define RT_VSIZE (40 * MiB)

static uint64_t rt_len(void) {
  switch (rnd() % 4) {
  case 0: return (1 + rnd() % 64) * 512;                  /* small */
  case 1: return (1 + rnd() % 4096) * 512;                /* up to 2 MiB */
  case 2: return 4 * MiB + (rnd() % 12288) * 512;         /* >4 MiB, often >16383 sectors */
  default: return (1 + rnd() % 8) * 4096;
  }
}

/* Applies one random write or discard to both the layer and the model. */
static int rt_step(lsmt_rw *l, uint8_t *model, uint8_t *buf) {
  uint64_t n = rt_len();
  uint64_t off = rnd() % 4 == 0 ? (rnd() % 2048) * 512 /* hot area: overwrites */
                                : (rnd() % ((RT_VSIZE - n) / 512 + 1)) * 512;
  if (off + n > RT_VSIZE) off = RT_VSIZE - n;
  if (rnd() % 4 == 0) {
    memset(model + off, 0, n);
    return lsmt_rw_discard(l, off, n, 0);
  }
  for (uint64_t i = 0; i < n; i += 8) {
    uint64_t v = rnd();
    memcpy(buf + i, &v, 8);
  }
  memcpy(model + off, buf, n);
  return lsmt_rw_pwrite(l, buf, n, off, 0) == (int64_t)n ? 0 : -1;
}

static int rt_compare(lsmt_rw *l, const uint8_t *model, uint8_t *got) {
  if (lsmt_rw_pread(l, got, RT_VSIZE, 0) != (int64_t)RT_VSIZE) return 0;
  return memcmp(got, model, RT_VSIZE) == 0;
}

static void roundtrip(int sparse, const char *tag) {
  char d[4096], x[4096], c[4096], name[64];
  snprintf(name, sizeof name, "rt%s.data", tag);
  snprintf(d, sizeof d, "%s", check_tmp(name));
  snprintf(name, sizeof name, "rt%s.index", tag);
  snprintf(x, sizeof x, "%s", check_tmp(name));
  snprintf(name, sizeof name, "rt%s.lsmt", tag);
  snprintf(c, sizeof c, "%s", check_tmp(name));
  uint8_t *model = calloc(1, RT_VSIZE), *got = malloc(RT_VSIZE), *buf = malloc(17 * MiB);
  CHECK(model && got && buf);
  lsmt_rw_options opt = {.virtual_size = RT_VSIZE, .sparse = sparse};
  lsmt_rw *l;
  CHECK(lsmt_rw_create(d, x, &opt, &l) == 0);
  for (int i = 0; i < 120; i++) {
    CHECK(rt_step(l, model, buf) == 0);
    if (i % 30 == 29) CHECK(rt_compare(l, model, got));
    if (i % 10 == 0) { /* a random small read */
      uint64_t off = (rnd() % (RT_VSIZE / 512 - 64)) * 512, n = (1 + rnd() % 64) * 512;
      CHECK(lsmt_rw_pread(l, got, n, off) == (int64_t)n);
      CHECK(memcmp(got, model + off, n) == 0);
    }
  }
  CHECK(rt_compare(l, model, got));
  CHECK(lsmt_rw_close(l) == 0);
  CHECK(lsmt_rw_open(d, x, &l) == 0); /* log replay or extent scan */
  CHECK(rt_compare(l, model, got));
  obd_sink *sink;
  CHECK(obd_sink_open_path(c, 0644, &sink) == 0);
  CHECK(lsmt_commit(l, sink, NULL) == 0);
  CHECK(obd_sink_close(sink) == 0);
  CHECK(lsmt_rw_close(l) == 0);
  lsmt_ro *r;
  CHECK(open_ro_path(c, &r) == 0);
  CHECK_EQ_U64(lsmt_ro_trailer(r)->virtual_size, RT_VSIZE);
  CHECK(ro_read(r, got, RT_VSIZE, 0) == 0);
  CHECK(memcmp(got, model, RT_VSIZE) == 0);
  lsmt_ro_close(r);
  free(model);
  free(got);
  free(buf);
}

static void test_roundtrip_append(void) { roundtrip(0, "a"); }
static void test_roundtrip_sparse(void) { roundtrip(1, "s"); }

/* §2.5's merge: 255 steps of 64 make 16320; the 63-sector remainder of a
 * 16383-sector mapping then absorbs the next contiguous mapping. */
static void test_commit_merge_rule(void) {
  char d[4096], c[4096];
  snprintf(d, sizeof d, "%s", check_tmp("mr.data"));
  snprintf(c, sizeof c, "%s", check_tmp("mr.lsmt"));
  lsmt_rw_options opt = {.virtual_size = 64 * MiB, .sparse = 1};
  lsmt_rw *l;
  uint8_t *buf = malloc(8 * MiB);
  CHECK(buf);
  memset(buf, 0x5A, 8 * MiB);
  CHECK(lsmt_rw_create(d, NULL, &opt, &l) == 0);
  CHECK(lsmt_rw_pwrite(l, buf, 8 * MiB, 0, 0) == (int64_t)(8 * MiB));
  CHECK(lsmt_rw_discard(l, 16 * MiB, 2 * 16383 * 512ull, 0) == 0);
  CHECK(lsmt_rw_close(l) == 0);
  CHECK(lsmt_rw_open(d, NULL, &l) == 0); /* extent scan: 16383 + 1 */
  lsmt_seg s[4];
  CHECK_EQ_U64(lsmt_rw_lookup(l, 0, 100000, s, 4), 2);
  CHECK_EQ_U64(lsmt_seg_length(s[0]), 16383);
  CHECK(lsmt_rw_discard(l, 16 * MiB, 2 * 16383 * 512ull, 0) == 0); /* in memory */
  obd_sink *sink;
  CHECK(obd_sink_open_path(c, 0644, &sink) == 0);
  CHECK(lsmt_commit(l, sink, NULL) == 0);
  CHECK(obd_sink_close(sink) == 0);
  CHECK(lsmt_rw_close(l) == 0);
  lsmt_ro *r;
  size_t n;
  CHECK(open_ro_path(c, &r) == 0);
  const lsmt_seg *idx = lsmt_ro_index(r, &n);
  static const rec want[] = {{0, 16320, 8, 0}, {16320, 64, 16328, 0},
                             {32768, 16383, 16392, 1}, {49151, 16383, 16392, 1}};
  CHECK_EQ_U64(n, 4);
  for (size_t i = 0; i < n; i++) CHECK(seg_is(idx[i], want[i]));
  CHECK_EQ_U64(lsmt_ro_trailer(r)->index_size, 256);
  CHECK(strcmp(lsmt_ro_trailer(r)->uuid, "00000000-0000-0000-0000-000000000000") == 0);
  lsmt_ro_close(r);
  free(buf);
}

static void test_commit_empty(void) {
  char d[4096], x[4096], c[4096];
  snprintf(d, sizeof d, "%s", check_tmp("ce.data"));
  snprintf(x, sizeof x, "%s", check_tmp("ce.index"));
  snprintf(c, sizeof c, "%s", check_tmp("ce.lsmt"));
  lsmt_rw_options opt = {.virtual_size = MiB, .parent_uuid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"};
  lsmt_rw *l;
  obd_sink *sink;
  CHECK(lsmt_rw_create(d, x, &opt, &l) == 0);
  CHECK(strcmp(lsmt_rw_header(l)->parent_uuid, GOLDEN_PARENT) == 0); /* upper-cased */
  CHECK(obd_sink_open_path(c, 0644, &sink) == 0);
  lsmt_commit_options co = {.uuid = "not-a-uuid", .user_tag = NULL};
  CHECK(lsmt_commit(l, sink, &co) == 0);
  CHECK(obd_sink_close(sink) == 0);
  CHECK(lsmt_rw_close(l) == 0);
  lsmt_ro *r;
  size_t n;
  CHECK(open_ro_path(c, &r) == 0);
  CHECK(lsmt_ro_index(r, &n) && n == 0);
  CHECK_EQ_U64(lsmt_ro_trailer(r)->index_offset, 4096);
  CHECK_EQ_U64(lsmt_ro_trailer(r)->index_size, 0);
  CHECK(strcmp(lsmt_ro_trailer(r)->parent_uuid, GOLDEN_PARENT) == 0);
  CHECK(strcmp(lsmt_ro_trailer(r)->uuid, "00000000-0000-0000-0000-000000000000") == 0);
  CHECK_EQ_U64(obd_file_size(lsmt_ro_file(r)), 8192);
  lsmt_ro_close(r);
}

/* ---- writable layer API rules ---- */

static void test_rw_create_rules(void) {
  char d[4096], x[4096];
  snprintf(d, sizeof d, "%s", check_tmp("cr.data"));
  snprintf(x, sizeof x, "%s", check_tmp("cr.index"));
  lsmt_rw_options opt = {.virtual_size = 0};
  lsmt_rw *l;
  CHECK(spill(x, (const uint8_t *)"keep", 4) == 0);
  CHECK(lsmt_rw_create(d, x, &opt, &l) == OBD_E_EXISTS);
  CHECK(access(d, F_OK) != 0); /* the half-made data file was removed */
  CHECK(files_equal(x, x) && remove(x) == 0);
  opt.uuid = "bad";
  CHECK(lsmt_rw_create(d, x, &opt, &l) == OBD_E_INVAL);
  opt.uuid = NULL;
  CHECK(lsmt_rw_create(d, x, &opt, &l) == 0);
  CHECK(lsmt_rw_create(d, x, &opt, &l) == OBD_E_EXISTS);
  uint8_t b[1024] = {0};
  CHECK(lsmt_rw_pwrite(l, b, 100, 0, 0) == OBD_E_INVAL);
  CHECK(lsmt_rw_pwrite(l, b, 512, 100, 0) == OBD_E_INVAL);
  CHECK(lsmt_rw_pread(l, b, 512, 1) == OBD_E_INVAL);
  CHECK(lsmt_rw_discard(l, 0, 511, 0) == OBD_E_INVAL);
  CHECK(lsmt_rw_pwrite(l, b, 512, (1ull << 59), 0) == OBD_E_RANGE);
  CHECK(lsmt_rw_pwrite(l, b, 0, 0, 0) == 0);
  CHECK(lsmt_rw_pwrite(l, b, 1024, 0, 3) == 1024);
  lsmt_seg s;
  CHECK(lsmt_rw_lookup(l, 0, 2, &s, 1) == 1 && lsmt_seg_tag(s) == 3);
  /* Stacking sets a 0 virtual size in both headers (§2.12 step 4). */
  CHECK(lsmt_rw_set_virtual_size(l, 64 * MiB) == 0);
  char uuid[OBD_UUID_STR_SIZE];
  memcpy(uuid, lsmt_rw_header(l)->uuid, sizeof uuid);
  CHECK(lsmt_rw_close(l) == 0);
  size_t n;
  uint8_t *xi = slurp(x, &n), *di = slurp(d, NULL);
  CHECK(xi && di && n == LSMT_HEADER_SIZE + 16);
  CHECK(le64_get(xi + 48) == 64 * MiB && le64_get(di + 48) == 64 * MiB);
  CHECK(le32_get(xi + 28) == 0x01 && le32_get(di + 28) == 0x03);
  CHECK(le64_get(xi + 32) == 4096 && le64_get(di + 32) == 0);
  CHECK(memcmp(xi + 56, uuid, 37) == 0 && memcmp(di + 56, uuid, 37) == 0);
  CHECK(xi[132] == 1 && xi[133] == 1 && le32_get(xi + 24) == 390);
  CHECK(xi[4096 + 15] == 3); /* the logged tag */
  free(xi);
  free(di);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK(lsmt_rw_lookup(l, 0, 2, &s, 1) == 1 && lsmt_seg_tag(s) == 0);
  CHECK(lsmt_rw_close(l) == 0);
}

static void test_rw_sparse_rules(void) {
  char d[4096], x[4096];
  snprintf(d, sizeof d, "%s", check_tmp("sr.data"));
  snprintf(x, sizeof x, "%s", check_tmp("sr.index"));
  lsmt_rw_options opt = {.virtual_size = 0, .sparse = 1};
  lsmt_rw *l;
  struct stat st;
  CHECK(lsmt_rw_create(d, x, &opt, &l) == 0);
  CHECK(stat(x, &st) == 0 && st.st_size == 0); /* created empty */
  CHECK(stat(d, &st) == 0 && st.st_size == 4096);
  CHECK(lsmt_rw_set_virtual_size(l, 8 * MiB) == 0);
  CHECK(stat(d, &st) == 0 && st.st_size == (off_t)(8 * MiB + 4096));
  uint8_t b[4096];
  memset(b, 7, sizeof b);
  CHECK(lsmt_rw_pwrite(l, b, 4096, 8192, 0) == 4096);
  CHECK(lsmt_rw_discard(l, 8192 + 1024, 1024, 0) == 0);
  CHECK(lsmt_rw_pread(l, b, 4096, 8192) == 4096);
  CHECK(b[0] == 7 && b[1024] == 0 && b[2047] == 0 && b[2048] == 7);
  CHECK(lsmt_rw_close(l) == 0);
  CHECK(lsmt_rw_open(d, x, &l) == 0);
  CHECK_EQ_U64(lsmt_rw_header(l)->virtual_size, 8 * MiB);
  CHECK(lsmt_rw_pread(l, b, 4096, 8192) == 4096);
  CHECK(b[0] == 7 && b[1024] == 0 && b[2048] == 7);
  CHECK(lsmt_rw_close(l) == 0);
}

/* ---- must-fail corpus ---- */

static void put_seg(uint8_t *p, uint64_t io, size_t i, lsmt_seg s) {
  lsmt_seg_encode(s, p + io + 16 * i, 16);
}

static lsmt_seg get_seg(const uint8_t *p, uint64_t io, size_t i) {
  lsmt_seg s = {0, 0};
  lsmt_seg_decode(p + io + 16 * i, 16, &s);
  return s;
}

/* layer.lsmt in memory, and a scratch copy to damage. */
static uint8_t *corpus, *dmg;
static size_t corpus_n;
#define CORPUS_IO 5308928ull /* its index offset */

static int load_corpus(void) {
  if (!corpus) corpus = slurp(check_vector("layer.lsmt"), &corpus_n);
  if (corpus && !dmg) dmg = malloc(corpus_n);
  if (dmg) memcpy(dmg, corpus, corpus_n);
  return dmg != NULL;
}

#define PATCH(stmt, want)                                                      \
  do {                                                                         \
    memcpy(dmg, corpus, corpus_n);                                             \
    stmt;                                                                      \
    CHECK_EQ_U64(open_mem(dmg, corpus_n), (uint64_t)(int64_t)(want));         \
  } while (0)

static void test_ro_truncated_and_flags(void) {
  CHECK(load_corpus());
  uint64_t tr = corpus_n - 4096;
  CHECK(open_mem(dmg, corpus_n) == 0);
  static const size_t short_cuts[] = {0, 100, 4095, 4096, 8191};
  for (size_t i = 0; i < sizeof short_cuts / sizeof *short_cuts; i++)
    CHECK(open_mem(dmg, short_cuts[i]) == OBD_E_TRUNCATED);
  size_t cuts[] = {8192, 8193, MiB, CORPUS_IO, tr, corpus_n - 1, corpus_n - 16, corpus_n - 512};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
    CHECK(open_mem(dmg, cuts[i]) == OBD_E_FORMAT);
  CHECK(strstr(obd_last_error(), "corpus.lsmt") != NULL);
  PATCH(dmg[0] ^= 1, OBD_E_FORMAT);
  PATCH(dmg[tr + 20] ^= 1, OBD_E_FORMAT);
  PATCH(le32_put(dmg + 28, 0x01), OBD_E_FORMAT); /* header not of a data file */
  PATCH(le32_put(dmg + 28, 0x03), 0);            /* sealed: RW header accepted */
  PATCH(le32_put(dmg + tr + 28, 0x07), OBD_E_FORMAT);
  PATCH(le32_put(dmg + tr + 28, 0x02), OBD_E_FORMAT);
  PATCH(le32_put(dmg + tr + 28, 0x04), OBD_E_FORMAT);
  PATCH(le64_put(dmg + tr + 40, 1000001), OBD_E_CORRUPT);
  PATCH(le64_put(dmg + tr + 40, 257), OBD_E_CORRUPT);
  PATCH(le64_put(dmg + tr + 40, UINT64_MAX), OBD_E_CORRUPT);
  PATCH(le64_put(dmg + tr + 32, tr + 16), OBD_E_CORRUPT);
  PATCH(le64_put(dmg + tr + 32, UINT64_MAX), OBD_E_CORRUPT);
}

static void test_ro_bad_index(void) {
  CHECK(load_corpus());
  uint64_t ds = CORPUS_IO / 512;
  /* Unordered: swap records 0 and 1. */
  PATCH((put_seg(dmg, CORPUS_IO, 0, get_seg(corpus, CORPUS_IO, 1)), put_seg(dmg, CORPUS_IO, 1, get_seg(corpus, CORPUS_IO, 0))),
        OBD_E_CORRUPT);
  CHECK(strstr(obd_last_error(), "record 1") != NULL);
  PATCH(put_seg(dmg, CORPUS_IO, 1, lsmt_seg_make(10, 8, 24, 0, 0)), OBD_E_CORRUPT); /* overlap */
  PATCH(put_seg(dmg, CORPUS_IO, 0, lsmt_seg_make(0, 16, 7, 0, 0)), OBD_E_CORRUPT);  /* header */
  PATCH(put_seg(dmg, CORPUS_IO, 5, lsmt_seg_make(16384, 10240, ds - 10239, 0, 0)), OBD_E_CORRUPT);
  PATCH(put_seg(dmg, CORPUS_IO, 5, lsmt_seg_make(16384, 10240, ds - 10240, 0, 0)), 0);
  PATCH(put_seg(dmg, CORPUS_IO, 3, lsmt_seg_make(4128, 32, ds + 1, 1, 0)), OBD_E_CORRUPT);
  PATCH(put_seg(dmg, CORPUS_IO, 3, lsmt_seg_make(4128, 32, ds, 1, 0)), 0);
  PATCH(put_seg(dmg, CORPUS_IO, 3, lsmt_seg_make(4128, 32, (1ull << 55) - 1, 0, 0)), OBD_E_CORRUPT);
  /* Padding in the middle and empty records are skipped; tags forced 0. */
  PATCH(put_seg(dmg, CORPUS_IO, 4, lsmt_seg_make(LSMT_INVALID_OFFSET, 0, 0, 0, 0)), 0);
  PATCH(put_seg(dmg, CORPUS_IO, 4, lsmt_seg_make(4160, 0, 64, 0, 0)), 0);
  PATCH(put_seg(dmg, CORPUS_IO, 4, lsmt_seg_make(4160, 64, 64, 0, 9)), 0);
}

#undef PATCH

/* Random damage to header, index and trailer: an error or a layer whose
 * reads stay inside the file, never a crash. */
static void test_ro_fuzz(void) {
  CHECK(load_corpus());
  for (int i = 0; i < 3000; i++) {
    memcpy(dmg, corpus, corpus_n);
    for (int k = 0; k < 4; k++) {
      uint64_t r = rnd();
      size_t at = r % 3 == 0 ? (size_t)(r >> 8) % 512 : CORPUS_IO + (size_t)(r >> 8) % (corpus_n - CORPUS_IO);
      dmg[at] ^= (uint8_t)(1u << (r >> 40) % 8);
    }
    mem_file m;
    lsmt_ro *l;
    obd_file_init(&m.base, &mem_ops, corpus_n, "fuzz");
    m.p = dmg;
    int rc = lsmt_ro_open(&m.base, 0, &l);
    CHECK(rc <= 0);
    if (rc == 0) {
      uint8_t buf[64 * 512];
      CHECK(ro_read(l, buf, sizeof buf, 4096 * 512) == 0);
      lsmt_ro_close(l);
    }
  }
}

/* Copies the golden writable layer, lets `patch` damage it, opens it. */
static int open_patched_rw(void (*patch)(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn)) {
  size_t dn, xn;
  uint8_t *d = slurp(check_vector("rw_append/writable_data"), &dn);
  uint8_t *x = slurp(check_vector("rw_append/writable_index"), &xn);
  char dp[4096], xp[4096];
  snprintf(dp, sizeof dp, "%s", check_tmp("bad.data"));
  snprintf(xp, sizeof xp, "%s", check_tmp("bad.index"));
  x = realloc(x, xn + 64);
  patch(d, &dn, x, &xn);
  int rc = -100;
  lsmt_rw *l;
  if (spill(dp, d, dn) == 0 && spill(xp, x, xn) == 0) {
    rc = lsmt_rw_open(dp, xp, &l);
    if (rc == 0) lsmt_rw_close(l);
  }
  free(d);
  free(x);
  return rc;
}

static void p_none(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)x, (void)xn;
}
static void p_data_magic(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)dn, (void)x, (void)xn;
  d[3] ^= 1;
}
static void p_data_short(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)x, (void)xn;
  *dn = 100;
}
static void p_data_flags(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)dn, (void)x, (void)xn;
  le32_put(d + 28, 0x02);
}
static void p_index_data(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)xn;
  le32_put(x + 28, 0x03);
}
static void p_index_sealed(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)xn;
  le32_put(x + 28, 0x05);
}
static void p_index_trailer(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)xn;
  le32_put(x + 28, 0x00);
}
static void p_index_offset(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)xn;
  le64_put(x + 32, 8192);
}
static void p_index_short(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn, (void)x;
  *xn = 100;
}
static void p_torn_record(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d, (void)dn;
  memset(x + *xn, 0x11, 7);
  *xn += 7;
}
static void p_past_data(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d;
  lsmt_seg_encode(lsmt_seg_make(0, 8, *dn / 512 - 7, 0, 0), x + *xn, 16);
  *xn += 16;
}
static void p_zeroed_past(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d;
  lsmt_seg_encode(lsmt_seg_make(0, 8, *dn / 512 + 1, 1, 0), x + *xn, 16);
  *xn += 16;
}
static void p_zeroed_end(uint8_t *d, size_t *dn, uint8_t *x, size_t *xn) {
  (void)d;
  lsmt_seg_encode(lsmt_seg_make(0, 8, *dn / 512, 1, 0), x + *xn, 16);
  *xn += 16;
}

static void test_rw_must_fail(void) {
  lsmt_rw *l;
  CHECK(open_patched_rw(p_none) == 0);
  CHECK(open_patched_rw(p_data_magic) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_data_short) == OBD_E_TRUNCATED);
  CHECK(open_patched_rw(p_data_flags) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_index_data) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_index_sealed) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_index_trailer) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_index_offset) == OBD_E_FORMAT);
  CHECK(open_patched_rw(p_index_short) == OBD_E_TRUNCATED);
  CHECK(open_patched_rw(p_torn_record) == 0);
  CHECK(open_patched_rw(p_past_data) == OBD_E_CORRUPT);
  CHECK(strstr(obd_last_error(), "record 10") != NULL);
  CHECK(open_patched_rw(p_zeroed_past) == OBD_E_CORRUPT);
  CHECK(open_patched_rw(p_zeroed_end) == 0);
  CHECK(lsmt_rw_open(check_tmp("missing.data"), check_tmp("missing.index"), &l) ==
        OBD_E_NOTFOUND);
}

/* ---- allocation failures on every open path ---- */

static int ro_open_once(void *arg) {
  lsmt_ro *l;
  int rc = open_ro_path(arg, &l);
  if (rc == 0) lsmt_ro_close(l);
  return rc;
}

static const char *rw_paths[2];

static int rw_open_once(void *arg) {
  (void)arg;
  lsmt_rw *l;
  int rc = lsmt_rw_open(rw_paths[0], rw_paths[1], &l);
  if (rc == 0) rc = lsmt_rw_close(l);
  return rc;
}

static int rw_create_once(void *arg) {
  lsmt_rw_options opt = {.virtual_size = MiB, .sparse = arg != NULL};
  char d[4096], x[4096];
  lsmt_rw *l;
  snprintf(d, sizeof d, "%s", check_tmp("af.data"));
  snprintf(x, sizeof x, "%s", check_tmp("af.index"));
  int rc = lsmt_rw_create(d, x, &opt, &l);
  if (rc == 0) return lsmt_rw_close(l);
  if (access(d, F_OK) == 0 || access(x, F_OK) == 0) return -100; /* left behind */
  return rc;
}

static int commit_once(void *arg) {
  lsmt_rw *l = arg;
  obd_sink *sink;
  int rc = obd_sink_open_path(check_tmp("af.lsmt"), 0644, &sink);
  if (rc < 0) return rc;
  rc = lsmt_commit(l, sink, NULL);
  int rc2 = obd_sink_close(sink);
  return rc < 0 ? rc : rc2;
}

/* Fails the k-th allocation for k = 0, 1, ... until fn succeeds: every
 * failure must be a clean OBD_E_NOMEM (LeakSanitizer checks the rest). */
static int each_alloc_fails(int (*fn)(void *), void *arg) {
  for (int64_t k = 0; k < 10000; k++) {
    obd_alloc_fail_after(k);
    int rc = fn(arg);
    obd_alloc_fail_after(-1);
    if (rc == 0) return k > 0;
    if (rc != OBD_E_NOMEM) {
      fprintf(stderr, "  allocation %lld: rc %d (%s)\n", (long long)k, rc, obd_last_error());
      return 0;
    }
  }
  return 0;
}

static void test_alloc_failures(void) {
  CHECK(each_alloc_fails(ro_open_once, (void *)check_vector("layer.lsmt")));
  rw_paths[0] = copy_vector("rw_append/writable_data", "afa.data");
  rw_paths[1] = copy_vector("rw_append/writable_index", "afa.index");
  CHECK(rw_paths[0] && rw_paths[1]);
  CHECK(each_alloc_fails(rw_open_once, NULL));
  rw_paths[0] = copy_vector("rw_sparse/writable_data", "afs.data");
  rw_paths[1] = NULL;
  CHECK(rw_paths[0]);
  CHECK(each_alloc_fails(rw_open_once, NULL));
  CHECK(each_alloc_fails(rw_create_once, NULL));
  CHECK(each_alloc_fails(rw_create_once, (void *)1));
  lsmt_rw *l;
  CHECK(lsmt_rw_open(copy_vector("rw_append/writable_data", "afc.data"),
                     copy_vector("rw_append/writable_index", "afc.index"), &l) == 0);
  CHECK(each_alloc_fails(commit_once, l));
  CHECK(lsmt_rw_close(l) == 0);
}

int main(void) {
  static const check_case cases[] = {
      {"header_decode/encode round-trip the golden header and trailer", test_codecs},
      {"seg_decode/encode follow the §2.3 bit layout", test_seg_codec},
      {"rw_open replays the golden append layer; reads equal view.raw", test_rw_append_golden},
      {"rw_pwrite/discard of §12 reproduce the golden files byte for byte", test_rw_append_sequence},
      {"commit of the golden layer is byte-identical to layer.lsmt", test_commit_golden},
      {"rw_open scans the golden sparse layer; reads equal view.raw", test_rw_sparse_golden},
      {"ro_open reads layer.lsmt: trailer, §12 index, view.raw", test_ro_golden},
      {"rw_open reads the golden upper layer; tags forced to 0", test_upper_golden},
      {"ro_open accepts a sealed layer with an RW header", test_sealed_layer},
      {"append layer round trip: writes, reopen, commit, ro_open", test_roundtrip_append},
      {"sparse layer round trip: writes, reopen, commit, ro_open", test_roundtrip_sparse},
      {"commit merges with the strict < 16383 rule", test_commit_merge_rule},
      {"commit of an empty layer: null uuid, parent kept, no index", test_commit_empty},
      {"rw_create is exclusive, checks alignment, sets virtual size", test_rw_create_rules},
      {"sparse rw_create truncates, discard punches, reopen scans", test_rw_sparse_rules},
      {"ro_open rejects truncated files, bad magic and flags", test_ro_truncated_and_flags},
      {"ro_open rejects bad index size, order, overlap, moffset", test_ro_bad_index},
      {"ro_open survives random damage", test_ro_fuzz},
      {"rw_open rejects bad headers and out-of-range log records", test_rw_must_fail},
      {"every allocation failure on open/create/commit is OBD_E_NOMEM", test_alloc_failures},
  };
  int rc = check_main(cases, sizeof cases / sizeof cases[0]);
  /* The scratch files are large (sparse copies, 40 MB round trips): remove
   * this process's own, which check_tmp prefixes with the pid. */
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -f '%s/%d-'*", getenv("OBD_TMP") ? getenv("OBD_TMP") : "/tmp",
           (int)getpid());
  if (system(cmd) != 0) fprintf(stderr, "could not remove scratch files\n");
  free(corpus);
  free(dmg);
  return rc;
}
