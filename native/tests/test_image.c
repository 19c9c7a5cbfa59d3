/* Layer open chain and stacked image view (spec §2.11, §2.12, §4): the
 * golden views, the upstream blobs, random stacks checked against a byte
 * model, and the must-fail cases. */
#include <pthread.h>
#include <stdint.h>

#include "alloc.h"
#include "check.h"
#include "file.h"
#include "image.h"
#include "layer.h"
#include "le.h"
#include "lsmt.h"
#include "tar.h"
#include "zfile.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define VIEW_BYTES (12u * MIB)
#define VSIZE_64M (64ull * MIB)
#define VSIZE_64G (64ull << 30)
#define HELLO_BLOB                                                             \
  "upstream/hello-world-registry/blobs/sha256/"                                \
  "022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"

/* ---- helpers ---- */

static char *dup_path(const char *p) {
  char *s = malloc(strlen(p) + 1);
  strcpy(s, p);
  return s;
}

/* The golden upper layer, copied: stacking rewrites its virtual size, and
 * the tests run as root, which the vectors' read-only mode would not stop. */
static int open_upper_copy(const char *tag, lsmt_rw **out) {
  char data[4200], index[4200], name[64];
  size_t len = 0;
  snprintf(name, sizeof name, "%s-upper-data", tag);
  snprintf(data, sizeof data, "%s", check_tmp(name));
  snprintf(name, sizeof name, "%s-upper-index", tag);
  snprintf(index, sizeof index, "%s", check_tmp(name));
  uint8_t *d = check_slurp(check_vector("upper/writable_data"), &len);
  int rc = d ? check_spill(data, d, len) : -1;
  free(d);
  uint8_t *i = check_slurp(check_vector("upper/writable_index"), &len);
  if (rc == 0) rc = i ? check_spill(index, i, len) : -1;
  free(i);
  if (rc != 0) return OBD_E_IO;
  return lsmt_rw_open(data, index, out);
}

/* Opens `layers` (paths, bottom first) plus an optional upper. */
static int open_stack(const char **paths, size_t n, lsmt_rw *upper,
                      obd_image **out) {
  lsmt_ro *lowers[8] = {0};
  for (size_t i = 0; i < n; i++) {
    int rc = obd_layer_open_path(paths[i], &lowers[i]);
    if (rc < 0) {
      for (size_t j = 0; j < i; j++) lsmt_ro_close(lowers[j]);
      lsmt_rw_close(upper);
      return rc;
    }
  }
  return obd_image_open(lowers, n, upper, out);
}

/* Reads [0, len) in `step`-byte reads and compares with want. */
static int view_equals(obd_image *img, const uint8_t *want, size_t len,
                       size_t step) {
  uint8_t *got = malloc(step);
  int same = 1;
  for (size_t off = 0; off < len && same; off += step) {
    size_t n = len - off < step ? len - off : step;
    same = obd_image_pread(img, got, n, off) == (int64_t)n &&
           memcmp(got, want + off, n) == 0;
  }
  free(got);
  return same;
}

/* The first 12 MiB of a one- or two-layer stack against a golden view. */
static void check_view(const char *layer, int with_upper, const char *view) {
  size_t vlen = 0;
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  const char *paths[1] = {check_vector(layer)};
  char *p = dup_path(paths[0]);
  paths[0] = p;
  if (with_upper) CHECK(open_upper_copy(layer, &upper) == 0);
  int rc = open_stack(paths, 1, upper, &img);
  free(p);
  CHECK(rc == 0);
  uint8_t *want = check_slurp(check_vector(view), &vlen);
  int whole = want && vlen == VIEW_BYTES && view_equals(img, want, vlen, vlen);
  int pieces = want && view_equals(img, want, vlen, 3 * 4096 + 512);
  uint64_t size = obd_image_size(img);
  uint64_t upper_size = with_upper ? lsmt_rw_header(upper)->virtual_size : 0;
  free(want);
  CHECK(obd_image_close(img) == 0);
  CHECK(whole);
  CHECK(pieces);
  CHECK_EQ_U64(size, VSIZE_64M);
  if (with_upper) CHECK_EQ_U64(upper_size, VSIZE_64M); /* inherited (§2.12 step 4) */
}

static int commit_layer(lsmt_rw *rw, const char *path, int wrap);
enum { PLAIN_LSMT, ZFILE_ONLY, TAR_ZFILE };

/* ---- golden views ---- */

static void lsmt_alone_is_view_raw(void) {
  check_view("layer.lsmt", 0, "view.raw");
  obd_image *img = NULL;
  const char *paths[1] = {check_vector("layer.lsmt")};
  char *p = dup_path(paths[0]);
  paths[0] = p;
  int rc = open_stack(paths, 1, NULL, &img);
  free(p);
  CHECK(rc == 0);
  size_t count = obd_image_segment_count(img);
  obd_image_close(img);
  CHECK_EQ_U64(count, 9); /* the committed index of §12 */
}

static void lsmt_with_upper_is_stacked_view(void) {
  check_view("layer.lsmt", 1, "stacked_view.raw");
}

static void commit_alone_is_view_raw(void) {
  check_view("overlaybd.commit", 0, "view.raw");
}

static void commit_with_upper_is_stacked_view(void) {
  check_view("overlaybd.commit", 1, "stacked_view.raw");
}

static void zfile_alone_is_view_raw(void) {
  check_view("layer.zfile", 0, "view.raw");
}

static void zfile_with_upper_is_stacked_view(void) {
  check_view("layer.zfile", 1, "stacked_view.raw");
}

/* §2.7: the sparse layer's discards come back as holes, not zeroed records.
 * Alone, a hole and a zeroed range both read as zeros, so the view is still
 * view.raw; only a lower layer below would tell them apart. */
static void sparse_commit_alone_is_view_raw(void) {
  check_view("sparse.commit", 0, "view.raw");
}

/* Reads the first 12 MiB of `top` stacked over a layer of 0xAB bytes and
 * checks it: the top's segments as in view.raw, everything else 0xAB.
 * Returns the byte at virtual 2 MiB + 16 KiB, the §12 discard. */
static int over_filler(const char *filler, const char *top, const uint8_t *view,
                       int *byte) {
  obd_image *img = NULL;
  lsmt_ro *layer = NULL;
  size_t count = 0;
  char *t = dup_path(top);
  const char *paths[2] = {filler, t};
  OBD_TRY(obd_layer_open_path(t, &layer));
  const lsmt_seg *idx = lsmt_ro_index(layer, &count);
  uint8_t *want = malloc(VIEW_BYTES);
  memset(want, 0xab, VIEW_BYTES);
  for (size_t i = 0; i < count; i++) {
    uint64_t off = lsmt_seg_offset(idx[i]) * 512, len = lsmt_seg_length(idx[i]) * 512ull;
    if (off >= VIEW_BYTES) continue;
    if (len > VIEW_BYTES - off) len = VIEW_BYTES - off;
    memcpy(want + off, view + off, len);
  }
  lsmt_ro_close(layer);
  int rc = open_stack(paths, 2, NULL, &img);
  free(t);
  if (rc == 0) {
    rc = view_equals(img, want, VIEW_BYTES, MIB) ? 0 : -1;
    *byte = want[2 * MIB + 16 * 1024];
    obd_image_close(img);
  }
  free(want);
  return rc;
}

/* §2.7: a committed sparse layer has holes where the writes were discarded,
 * so lower data shows through there, while layer.lsmt's zeroed records of
 * the same history hide it. */
static void sparse_commit_holes_show_lower_data(void) {
  char data[4200], index[4200], filler[4300];
  lsmt_rw_options opt = {.virtual_size = VSIZE_64M};
  lsmt_rw *rw = NULL;
  size_t vlen = 0;
  snprintf(data, sizeof data, "%s", check_tmp("filler-data"));
  snprintf(index, sizeof index, "%s", check_tmp("filler-index"));
  snprintf(filler, sizeof filler, "%s", check_tmp("filler-commit"));
  uint8_t *buf = malloc(VIEW_BYTES);
  memset(buf, 0xab, VIEW_BYTES);
  CHECK(lsmt_rw_create(data, index, &opt, &rw) == 0);
  int64_t w = lsmt_rw_pwrite(rw, buf, VIEW_BYTES, 0, 0);
  free(buf);
  CHECK(w == (int64_t)VIEW_BYTES);
  CHECK(commit_layer(rw, filler, PLAIN_LSMT) == 0);
  CHECK(lsmt_rw_close(rw) == 0);
  uint8_t *view = check_slurp(check_vector("view.raw"), &vlen);
  CHECK(view != NULL);
  int zeroed_byte = -1, sparse_byte = -1;
  int rc1 = over_filler(filler, check_vector("layer.lsmt"), view, &zeroed_byte);
  int rc2 = over_filler(filler, check_vector("sparse.commit"), view, &sparse_byte);
  free(view);
  CHECK(rc1 == 0);
  CHECK(rc2 == 0);
  CHECK_EQ_U64(zeroed_byte, 0);
  CHECK_EQ_U64(sparse_byte, 0xab);
}

static int ext4_magic_at_1024(obd_image *img) {
  uint8_t sb[1024];
  if (obd_image_pread(img, sb, sizeof sb, 1024) != (int64_t)sizeof sb) return 0;
  return le16_get(sb + 56) == 0xEF53;
}

static void hello_world_blob_is_ext4(void) {
  obd_image *img = NULL;
  char *p = dup_path(check_vector(HELLO_BLOB));
  const char *paths[1] = {p};
  int rc = open_stack(paths, 1, NULL, &img);
  free(p);
  CHECK(rc == 0);
  uint64_t size = obd_image_size(img);
  int magic = ext4_magic_at_1024(img);
  obd_image_close(img);
  CHECK_EQ_U64(size, VSIZE_64G);
  CHECK(magic);
}

static void legacy_baselayer_is_ext4(void) {
  char dir[4200], cmd[13000], path[4300];
  lsmt_ro *layer = NULL;
  obd_image *img = NULL;
  snprintf(dir, sizeof dir, "%s", check_tmp("baselayer"));
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && tar xzf '%s' -C '%s'", dir,
           check_vector("upstream/ext4_64.tar.gz"), dir);
  CHECK(system(cmd) == 0);
  snprintf(path, sizeof path, "%s/ext4_64", dir);
  CHECK(obd_layer_open_path(path, &layer) == 0);
  size_t records = 0;
  lsmt_ro_index(layer, &records);
  CHECK_EQ_U64(records, 8323);
  CHECK(obd_image_open(&layer, 1, NULL, &img) == 0);
  uint64_t size = obd_image_size(img);
  int magic = ext4_magic_at_1024(img);
  size_t count = obd_image_segment_count(img);
  obd_image_close(img);
  CHECK_EQ_U64(size, VSIZE_64G);
  CHECK_EQ_U64(count, 8323);
  CHECK(magic);
}

/* ---- random stacks against a byte model ---- */

#define RAND_VSIZE (16u * MIB)

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64*: reproducible across libcs */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

/* A random sector-aligned range inside the device, at most max_sectors. */
static void rand_range(uint64_t max_sectors, uint64_t *off, uint64_t *len) {
  uint64_t sectors = RAND_VSIZE / LSMT_SECTOR;
  uint64_t s = rnd() % sectors;
  uint64_t n = 1 + rnd() % max_sectors;
  if (n > sectors - s) n = sectors - s;
  *off = s * LSMT_SECTOR;
  *len = n * LSMT_SECTOR;
}

typedef int64_t (*write_fn)(void *target, const void *buf, size_t n, uint64_t off);
typedef int (*discard_fn)(void *target, uint64_t off, uint64_t n);

static int64_t rw_write(void *t, const void *buf, size_t n, uint64_t off) {
  return lsmt_rw_pwrite(t, buf, n, off, 0);
}
static int rw_discard(void *t, uint64_t off, uint64_t n) {
  return lsmt_rw_discard(t, off, n, 0);
}
static int64_t img_write(void *t, const void *buf, size_t n, uint64_t off) {
  return obd_image_pwrite(t, buf, n, off);
}
static int img_discard(void *t, uint64_t off, uint64_t n) {
  return obd_image_discard(t, off, n);
}

/* `ops` random writes (some over 4 MiB, so they split) and discards applied
 * to the target and to the model. */
static int random_history(void *target, write_fn wr, discard_fn dis,
                          uint8_t *model, int ops) {
  uint8_t *buf = malloc(5 * MIB);
  int rc = 0;
  for (int i = 0; i < ops && rc == 0; i++) {
    uint64_t off, len;
    if (rnd() % 4 == 0) {
      rand_range(rnd() % 8 == 0 ? 20000 : 600, &off, &len);
      rc = dis(target, off, len);
      memset(model + off, 0, len);
      continue;
    }
    rand_range(rnd() % 16 == 0 ? 10240 : 512, &off, &len);
    for (uint64_t j = 0; j < len; j++) buf[j] = (uint8_t)rnd();
    int64_t w = wr(target, buf, len, off);
    rc = w == (int64_t)len ? 0 : (w < 0 ? (int)w : -1);
    memcpy(model + off, buf, len);
  }
  free(buf);
  return rc;
}

/* Commits rw into path in the given wrapping, through the real writers. */
static int commit_layer(lsmt_rw *rw, const char *path, int wrap) {
  obd_sink *file = NULL, *tw = NULL, *zw = NULL, *top;
  zfile_options zo;
  lsmt_commit_options co = {0};
  OBD_TRY(obd_sink_open_path(path, 0644, &file));
  top = file;
  if (wrap == TAR_ZFILE) {
    OBD_TRY(tar_writer_open(top, 1, 0100644, &tw));
    top = tw;
  }
  if (wrap != PLAIN_LSMT) {
    zfile_options_default(&zo);
    zo.algo = wrap == TAR_ZFILE ? ZFILE_ALGO_ZSTD : ZFILE_ALGO_LZ4;
    OBD_TRY(zfile_writer_open(top, 1, &zo, &zw));
    top = zw;
  }
  int rc = lsmt_commit(rw, top, &co);
  int crc = obd_sink_close(top);
  return rc < 0 ? rc : crc;
}

/* Builds a committed random layer at path on top of the model. */
static int make_random_layer(const char *name, int wrap, uint8_t *model,
                             int ops, char *path, size_t cap) {
  char data[4200], index[4200], n2[96];
  lsmt_rw_options opt = {.virtual_size = RAND_VSIZE};
  lsmt_rw *rw = NULL;
  snprintf(n2, sizeof n2, "%s-data", name);
  snprintf(data, sizeof data, "%s", check_tmp(n2));
  snprintf(n2, sizeof n2, "%s-index", name);
  snprintf(index, sizeof index, "%s", check_tmp(n2));
  snprintf(n2, sizeof n2, "%s-commit", name);
  snprintf(path, cap, "%s", check_tmp(n2));
  OBD_TRY(lsmt_rw_create(data, index, &opt, &rw));
  int rc = random_history(rw, rw_write, rw_discard, model, ops);
  if (rc == 0) rc = commit_layer(rw, path, wrap);
  int crc = lsmt_rw_close(rw);
  return rc < 0 ? rc : crc;
}

static int compare_random_reads(obd_image *img, const uint8_t *model, int n) {
  uint8_t *buf = malloc(2 * MIB);
  int same = 1;
  for (int i = 0; i < n && same; i++) {
    uint64_t off, len;
    rand_range(rnd() % 4 == 0 ? 4096 : 64, &off, &len);
    same = obd_image_pread(img, buf, len, off) == (int64_t)len &&
           memcmp(buf, model + off, len) == 0;
    if (!same)
      fprintf(stderr, "  mismatch reading %llu bytes at %llu\n",
              (unsigned long long)len, (unsigned long long)off);
  }
  free(buf);
  return same;
}

static void random_stacks_match_model(void) {
  char paths[3][4300];
  const char *pp[3] = {paths[0], paths[1], paths[2]};
  uint8_t *model = calloc(1, RAND_VSIZE);
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  rng_state = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < 3; round++) {
    memset(model, 0, RAND_VSIZE);
    for (int i = 0; i < 3; i++) {
      char name[32];
      snprintf(name, sizeof name, "rand%d-%d", round, i);
      CHECK(make_random_layer(name, (i + round) % 3, model, 40, paths[i],
                              sizeof paths[i]) == 0);
    }
    char data[4200], index[4200];
    lsmt_rw_options opt = {0}; /* virtual size inherited from the stack */
    snprintf(data, sizeof data, "%s", check_tmp("rand-upper-data"));
    snprintf(index, sizeof index, "%s", check_tmp("rand-upper-index"));
    CHECK(lsmt_rw_create(data, index, &opt, &upper) == 0);
    CHECK(open_stack(pp, 3, upper, &img) == 0);
    CHECK_EQ_U64(obd_image_size(img), RAND_VSIZE);
    int ok = compare_random_reads(img, model, 200);
    if (ok) ok = random_history(img, img_write, img_discard, model, 60) == 0;
    if (ok) ok = compare_random_reads(img, model, 300);
    if (ok) ok = view_equals(img, model, RAND_VSIZE, RAND_VSIZE);
    CHECK(obd_image_close(img) == 0);
    if (!ok) free(model);
    CHECK(ok);
  }
  free(model);
}

/* bottom: data over [0, 1 MiB); middle: discard [256K, 512K); top: data
 * [384K, 448K). The middle's zeroed range must hide the bottom. */
/* Collects the data runs of img into runs[][2] (bytes); returns the count. */
static size_t data_runs(obd_image *img, uint64_t runs[][2], size_t cap) {
  size_t n = 0;
  uint64_t off = 0, s, e;
  while (n < cap && obd_image_next_data(img, off, &s, &e) == 1) {
    runs[n][0] = s;
    runs[n][1] = e;
    n++;
    off = e;
  }
  return n;
}

static void next_data_lists_layer_lsmt_runs(void) {
  char *p = dup_path(check_vector("layer.lsmt"));
  const char *paths[1] = {p};
  obd_image *img = NULL;
  uint64_t runs[16][2];
  int rc = open_stack(paths, 1, NULL, &img);
  free(p);
  CHECK(rc == 0);
  size_t n = data_runs(img, runs, 16);
  obd_image_close(img);
  /* §12: data at [0,16) [2048,8) [4096,32) [4160,64) [16384,10240)
   * [131071,1] sectors; zeroed (4128,32) and the 9 MiB discard are gaps. */
  static const uint64_t want[][2] = {
      {0, 8 * KIB}, {MIB, MIB + 4 * KIB}, {2 * MIB, 2 * MIB + 16 * KIB},
      {2 * MIB + 32 * KIB, 2 * MIB + 64 * KIB}, {8 * MIB, 13 * MIB},
      {64 * MIB - 512, 64 * MIB}};
  CHECK_EQ_U64(n, 6);
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ_U64(runs[i][0], want[i][0]);
    CHECK_EQ_U64(runs[i][1], want[i][1]);
  }
}

/* Every byte outside the reported runs must read as zero. */
static void next_data_skips_only_zeros_with_upper(void) {
  char *p = dup_path(check_vector("layer.lsmt"));
  const char *paths[1] = {p};
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  uint64_t runs[64][2];
  size_t len = 0;
  uint8_t *view = check_slurp(check_vector("stacked_view.raw"), &len);
  CHECK(view != NULL);
  CHECK(open_upper_copy("next-data", &upper) == 0);
  int rc = open_stack(paths, 1, upper, &img);
  free(p);
  CHECK(rc == 0);
  size_t n = data_runs(img, runs, 64);
  obd_image_close(img);
  CHECK(n > 0 && n < 64);
  uint64_t at = 0;
  int zeros = 1;
  for (size_t i = 0; i <= n; i++) {
    uint64_t gap_end = i < n ? runs[i][0] : len;
    if (gap_end > len) gap_end = len;
    for (uint64_t b = at; b < gap_end; b++) zeros &= view[b] == 0;
    if (i < n) at = runs[i][1];
  }
  free(view);
  CHECK(zeros);
}

static void middle_zeroed_range_hides_bottom(void) {
  char paths[3][4300];
  const char *pp[3] = {paths[0], paths[1], paths[2]};
  static const struct { const char *name; int discard; uint64_t off, len; } steps[] = {
      {"hide-bottom", 0, 0, MIB},
      {"hide-middle", 1, 256 * 1024, 256 * 1024},
      {"hide-top", 0, 384 * 1024, 64 * 1024},
  };
  uint8_t *model = calloc(1, RAND_VSIZE);
  uint8_t *buf = malloc(MIB);
  rng_state = 42;
  for (int i = 0; i < 3; i++) {
    char data[4200], index[4200], n2[64];
    lsmt_rw_options opt = {.virtual_size = RAND_VSIZE};
    lsmt_rw *rw = NULL;
    snprintf(n2, sizeof n2, "%s-data", steps[i].name);
    snprintf(data, sizeof data, "%s", check_tmp(n2));
    snprintf(n2, sizeof n2, "%s-index", steps[i].name);
    snprintf(index, sizeof index, "%s", check_tmp(n2));
    snprintf(n2, sizeof n2, "%s-commit", steps[i].name);
    snprintf(paths[i], sizeof paths[i], "%s", check_tmp(n2));
    CHECK(lsmt_rw_create(data, index, &opt, &rw) == 0);
    if (steps[i].discard) {
      CHECK(lsmt_rw_discard(rw, steps[i].off, steps[i].len, 0) == 0);
      memset(model + steps[i].off, 0, steps[i].len);
    } else {
      for (uint64_t j = 0; j < steps[i].len; j++) buf[j] = (uint8_t)(rnd() | 1);
      CHECK(lsmt_rw_pwrite(rw, buf, steps[i].len, steps[i].off, 0) ==
            (int64_t)steps[i].len);
      memcpy(model + steps[i].off, buf, steps[i].len);
    }
    CHECK(commit_layer(rw, paths[i], PLAIN_LSMT) == 0);
    CHECK(lsmt_rw_close(rw) == 0);
  }
  obd_image *img = NULL;
  CHECK(open_stack(pp, 3, NULL, &img) == 0);
  int64_t got = obd_image_pread(img, buf, MIB, 0);
  int same = got == (int64_t)MIB && memcmp(buf, model, MIB) == 0;
  int hidden = 1;
  for (size_t j = 256 * 1024; j < 384 * 1024; j++) hidden &= buf[j] == 0;
  size_t count = obd_image_segment_count(img);
  uint64_t runs[8][2];
  size_t nruns = data_runs(img, runs, 8);
  obd_image_close(img);
  free(buf);
  free(model);
  CHECK(same);
  CHECK(hidden);
  /* The zeroed middle ranges are gaps between data runs. */
  CHECK_EQ_U64(nruns, 3);
  CHECK_EQ_U64(runs[0][1], 256 * 1024);
  CHECK_EQ_U64(runs[1][0], 384 * 1024);
  CHECK_EQ_U64(runs[1][1], 448 * 1024);
  CHECK_EQ_U64(runs[2][0], 512 * 1024);
  /* bottom [0,256K) · middle zeroed [256K,384K) · top · middle zeroed
   * [448K,512K) · bottom [512K,1M) */
  CHECK_EQ_U64(count, 5);
}

/* ---- writes through the image ---- */

static void writes_are_logged_with_the_stack_depth(void) {
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  uint8_t buf[4096], back[4096];
  lsmt_seg segs[4];
  char *p = dup_path(check_vector("overlaybd.commit"));
  const char *paths[1] = {p};
  CHECK(open_upper_copy("tagcheck", &upper) == 0);
  int rc = open_stack(paths, 1, upper, &img);
  free(p);
  CHECK(rc == 0);
  memset(buf, 0x5a, sizeof buf);
  CHECK(obd_image_pwrite(img, buf, sizeof buf, 40 * MIB) == (int64_t)sizeof buf);
  size_t k = lsmt_rw_lookup(upper, 40 * MIB / 512, 8, segs, 4);
  CHECK(obd_image_pread(img, back, sizeof back, 40 * MIB) == (int64_t)sizeof back);
  CHECK(memcmp(buf, back, sizeof buf) == 0);
  CHECK(obd_image_discard(img, 40 * MIB, 512) == 0);
  CHECK(obd_image_pread(img, back, 1024, 40 * MIB) == 1024);
  CHECK(back[0] == 0 && back[511] == 0 && back[512] == 0x5a);
  CHECK(obd_image_pwrite(img, buf, 512, VSIZE_64M) == OBD_E_RANGE);
  CHECK(obd_image_close(img) == 0);
  CHECK_EQ_U64(k, 1);
  CHECK_EQ_U64(lsmt_seg_tag(segs[0]), 1); /* §2.6: tag = layers below */
}

static void read_only_image_rejects_writes(void) {
  obd_image *img = NULL;
  uint8_t buf[512] = {0};
  char *p = dup_path(check_vector("layer.lsmt"));
  const char *paths[1] = {p};
  int rc = open_stack(paths, 1, NULL, &img);
  free(p);
  CHECK(rc == 0);
  int64_t w = obd_image_pwrite(img, buf, sizeof buf, 0);
  int d = obd_image_discard(img, 0, 512);
  obd_image_close(img);
  CHECK_EQ_U64(w, OBD_E_READONLY);
  CHECK_EQ_U64(d, OBD_E_READONLY);
}

/* ---- must fail ---- */

static void unaligned_reads_are_invalid(void) {
  obd_image *img = NULL;
  uint8_t buf[2048];
  char *p = dup_path(check_vector("layer.lsmt"));
  const char *paths[1] = {p};
  int rc = open_stack(paths, 1, NULL, &img);
  free(p);
  CHECK(rc == 0);
  int64_t a = obd_image_pread(img, buf, 512, 1);
  int64_t b = obd_image_pread(img, buf, 100, 0);
  int64_t c = obd_image_pread(img, buf, 1024, 4096 + 256);
  int64_t tail = obd_image_pread(img, buf, 2048, VSIZE_64M - 512);
  int64_t past = obd_image_pread(img, buf, 512, VSIZE_64M);
  obd_image_close(img);
  CHECK_EQ_U64(a, OBD_E_INVAL);
  CHECK_EQ_U64(b, OBD_E_INVAL);
  CHECK_EQ_U64(c, OBD_E_INVAL);
  CHECK_EQ_U64(tail, 512); /* clamped to the virtual size */
  CHECK_EQ_U64(past, 0);
}

static void empty_stack_is_invalid(void) {
  obd_image *img = NULL;
  CHECK_EQ_U64(obd_image_open(NULL, 0, NULL, &img), OBD_E_INVAL);
}

/* Flips a byte inside the compressed block holding LSMT bytes [64K, 68K):
 * the data of segment (16384, 10240, 128) of §12, i.e. virtual 8 MiB. */
static void corrupt_block_names_the_layer(void) {
  size_t len = 0;
  zfile_record rec;
  int digest_ok = 0;
  const char *path = check_tmp("corrupt.zfile");
  uint8_t *z = check_slurp(check_vector("layer.zfile"), &len);
  CHECK(z != NULL);
  CHECK(zfile_record_decode(z, len, &rec, &digest_ok) == 0);
  CHECK(rec.flags & ZFILE_FLAG_HEADER_OVERWRITE);
  uint64_t at = ZFILE_RECORD_SIZE + rec.dict_size;
  for (uint64_t b = 0; b < 16; b++) at += le32_get(z + rec.index_offset + 4 * b);
  z[at + 7] ^= 0x40;
  CHECK(check_spill(path, z, len) == 0);
  free(z);

  lsmt_ro *layer = NULL;
  obd_image *img = NULL;
  uint8_t buf[4096];
  CHECK(obd_layer_open_path(path, &layer) == 0);
  CHECK(obd_image_open(&layer, 1, NULL, &img) == 0);
  int64_t bad = obd_image_pread(img, buf, sizeof buf, 8 * MIB);
  int named = strstr(obd_last_error(), path) != NULL &&
              strstr(obd_last_error(), "8388608") != NULL;
  int64_t good = obd_image_pread(img, buf, sizeof buf, 0);
  int64_t hole = obd_image_pread(img, buf, sizeof buf, 30 * MIB);
  obd_image_close(img);
  CHECK_EQ_U64(bad, OBD_E_CORRUPT);
  CHECK(named);
  CHECK_EQ_U64(good, sizeof buf);
  CHECK_EQ_U64(hole, sizeof buf);
}

static void corrupt_layer_fails_to_open_with_its_name(void) {
  size_t len = 0;
  const char *path = check_tmp("truncated.commit");
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  CHECK(check_spill(path, blob, 2000000) == 0);
  free(blob);
  lsmt_ro *layer = NULL;
  CHECK_EQ_U64(obd_layer_open_path(path, &layer), OBD_E_CORRUPT);
  CHECK(strncmp(obd_last_error(), path, strlen(path)) == 0);
  CHECK(obd_layer_open_path(check_tmp("missing"), &layer) < 0);
}

/* obd_layer_unwrap without ownership leaves raw open, whatever it finds. */
static void unwrap_without_ownership_keeps_raw(void) {
  static const char *names[] = {"overlaybd.commit", "layer.zfile", "layer.lsmt"};
  for (size_t i = 0; i < 3; i++) {
    obd_file *raw = NULL, *inner = NULL;
    uint8_t magic[4], first = 0;
    CHECK(obd_file_open_path(check_vector(names[i]), &raw) == 0);
    CHECK(obd_layer_unwrap(raw, 0, &inner) == 0);
    CHECK_EQ_U64(inner->size, 5317120); /* layer.lsmt */
    CHECK(obd_file_read_exact(inner, magic, 4, 0) == 0);
    if (inner != raw) obd_file_close(inner);
    CHECK(obd_file_read_exact(raw, &first, 1, 0) == 0); /* still open */
    obd_file_close(raw);
    CHECK(memcmp(magic, "LSMT", 4) == 0);
  }
}

static void alloc_failures_in_open_are_clean(void) {
  char *a = dup_path(check_vector("overlaybd.commit"));
  char *b = dup_path(check_vector("layer.lsmt"));
  int opened = 0;
  for (int64_t k = 0; k < 64 && !opened; k++) {
    lsmt_ro *lowers[2] = {0};
    lsmt_rw *upper = NULL;
    obd_image *img = NULL;
    char tag[32];
    snprintf(tag, sizeof tag, "nomem%lld", (long long)k);
    CHECK(obd_layer_open_path(a, &lowers[0]) == 0);
    CHECK(obd_layer_open_path(b, &lowers[1]) == 0);
    CHECK(open_upper_copy(tag, &upper) == 0);
    obd_alloc_fail_after(k);
    int rc = obd_image_open(lowers, 2, upper, &img);
    obd_alloc_fail_after(-1);
    if (rc == 0) {
      opened = 1;
      CHECK(obd_image_close(img) == 0);
    } else {
      CHECK_EQ_U64(rc, OBD_E_NOMEM);
    }
  }
  free(a);
  free(b);
  CHECK(opened);
  /* Also while opening layers: every failure is NOMEM and leaks nothing. */
  for (int64_t k = 0; k < 200; k++) {
    lsmt_ro *layer = NULL;
    obd_alloc_fail_after(k);
    int rc = obd_layer_open_path(check_vector("overlaybd.commit"), &layer);
    obd_alloc_fail_after(-1);
    if (rc == 0) {
      lsmt_ro_close(layer);
      break;
    }
    CHECK_EQ_U64(rc, OBD_E_NOMEM);
  }
}

static void steady_state_reads_do_not_allocate(void) {
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  char *p = dup_path(check_vector("overlaybd.commit"));
  const char *paths[1] = {p};
  uint8_t *buf = malloc(MIB);
  CHECK(open_upper_copy("noalloc", &upper) == 0);
  int rc = open_stack(paths, 1, upper, &img);
  free(p);
  CHECK(rc == 0);
  CHECK(obd_image_pread(img, buf, MIB, 0) == (int64_t)MIB); /* warm-up */
  uint64_t before = obd_alloc_count();
  int ok = 1;
  rng_state = 7;
  for (int i = 0; i < 1000 && ok; i++) {
    uint64_t off = (rnd() % (VIEW_BYTES / 512)) * 512;
    size_t n = (size_t)(1 + rnd() % 2048) * 512;
    ok = obd_image_pread(img, buf, n, off) == (int64_t)n;
  }
  uint64_t after = obd_alloc_count();
  obd_image_close(img);
  free(buf);
  CHECK(ok);
  CHECK_EQ_U64(after - before, 0);
}

typedef struct reader_arg {
  obd_image *img;
  const uint8_t *want;
  uint64_t seed;
  int ok;
} reader_arg;

static void *reader_main(void *p) {
  reader_arg *a = p;
  uint8_t *buf = malloc(MIB);
  uint64_t x = a->seed;
  a->ok = 1;
  for (int i = 0; i < 300 && a->ok; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t off = ((x >> 20) % (VIEW_BYTES / 512)) * 512;
    size_t n = (size_t)(1 + (x >> 50) % 256) * 512;
    if (n > VIEW_BYTES - off) n = VIEW_BYTES - off;
    a->ok = obd_image_pread(a->img, buf, n, off) == (int64_t)n &&
            memcmp(buf, a->want + off, n) == 0;
  }
  free(buf);
  return NULL;
}

/* image.h: reads may run on many threads at once (the ZFile decoder hands
 * each its own scratch). */
static void concurrent_reads_agree(void) {
  lsmt_rw *upper = NULL;
  obd_image *img = NULL;
  size_t vlen = 0;
  char *p = dup_path(check_vector("overlaybd.commit"));
  const char *paths[1] = {p};
  CHECK(open_upper_copy("threads", &upper) == 0);
  int rc = open_stack(paths, 1, upper, &img);
  free(p);
  CHECK(rc == 0);
  uint8_t *want = check_slurp(check_vector("stacked_view.raw"), &vlen);
  reader_arg args[6];
  pthread_t th[6];
  for (int i = 0; i < 6; i++) {
    args[i] = (reader_arg){.img = img, .want = want, .seed = (uint64_t)i + 1};
    pthread_create(&th[i], NULL, reader_main, &args[i]);
  }
  int ok = 1;
  for (int i = 0; i < 6; i++) {
    pthread_join(th[i], NULL);
    ok &= args[i].ok;
  }
  obd_image_close(img);
  free(want);
  CHECK(ok);
}

int main(void) {
  static const check_case cases[] = {
      {"obd_image_pread() of layer.lsmt is view.raw", lsmt_alone_is_view_raw},
      {"obd_image_pread() of layer.lsmt + upper is stacked_view.raw",
       lsmt_with_upper_is_stacked_view},
      {"obd_image_pread() of overlaybd.commit is view.raw", commit_alone_is_view_raw},
      {"obd_image_pread() of overlaybd.commit + upper is stacked_view.raw",
       commit_with_upper_is_stacked_view},
      {"obd_image_pread() of layer.zfile is view.raw", zfile_alone_is_view_raw},
      {"obd_image_pread() of layer.zfile + upper is stacked_view.raw",
       zfile_with_upper_is_stacked_view},
      {"obd_image_pread() of sparse.commit is view.raw", sparse_commit_alone_is_view_raw},
      {"sparse.commit holes show the layer below", sparse_commit_holes_show_lower_data},
      {"the hello-world blob is an ext4 image of 64 GiB", hello_world_blob_is_ext4},
      {"the legacy baselayer opens as ext4 of 64 GiB", legacy_baselayer_is_ext4},
      {"random stacks read like the byte model", random_stacks_match_model},
      {"a middle zeroed range hides the bottom layer", middle_zeroed_range_hides_bottom},
      {"obd_image_next_data() lists the data runs of layer.lsmt", next_data_lists_layer_lsmt_runs},
      {"obd_image_next_data() with an upper skips only zeros", next_data_skips_only_zeros_with_upper},
      {"obd_image_pwrite() logs the stack depth as tag", writes_are_logged_with_the_stack_depth},
      {"a read-only image rejects writes", read_only_image_rejects_writes},
      {"obd_image_pread() rejects unaligned reads", unaligned_reads_are_invalid},
      {"obd_image_open() rejects an empty stack", empty_stack_is_invalid},
      {"a corrupt ZFile block fails with the layer name", corrupt_block_names_the_layer},
      {"a truncated layer fails to open with its path", corrupt_layer_fails_to_open_with_its_name},
      {"obd_layer_unwrap() without ownership keeps raw", unwrap_without_ownership_keeps_raw},
      {"allocation failures while opening are clean", alloc_failures_in_open_are_clean},
      {"steady-state reads do not allocate", steady_state_reads_do_not_allocate},
      {"concurrent reads agree with stacked_view.raw", concurrent_reads_agree},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
