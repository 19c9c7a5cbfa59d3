/* ZFile reader and writer (spec §1) against the golden vectors, plus a
 * must-fail corpus, allocation accounting and concurrent reads. */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "alloc.h"
#include "check.h"
#include "crc32c.h"
#include "le.h"
#include "zfile.h"

/* ---- helpers ---- */

typedef struct bytes {
  uint8_t *p;
  size_t n;
} bytes;

static bytes slurp(const char *path) {
  bytes b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (!f) return b;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b.p = malloc(n > 0 ? (size_t)n : 1);
  b.n = fread(b.p, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static int spill(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Opens a ZFile by path; the decoder owns the path file. */
static int open_path(const char *path, obd_file **z) {
  obd_file *src;
  OBD_TRY(obd_file_open_path(path, &src));
  return zfile_open(src, 1, z);
}

/* An obd_file over bytes in memory, for the mutation corpus. */
typedef struct mem_file {
  obd_file base;
  const uint8_t *data;
} mem_file;

static int64_t mem_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  mem_file *m = (mem_file *)f;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  memcpy(buf, m->data + off, n);
  return (int64_t)n;
}

static void mem_close(obd_file *f) { (void)f; }

static const obd_file_ops mem_file_ops = {.pread = mem_pread, .close = mem_close};

static void mem_file_init(mem_file *m, const uint8_t *p, size_t n) {
  obd_file_init(&m->base, &mem_file_ops, n, "mem.zfile");
  m->data = p;
}

/* A growable sink in memory; optionally unable to rewrite, optionally
 * failing once more than fail_at bytes have been written. */
typedef struct mem_sink {
  obd_sink base;
  uint8_t *p;
  size_t n, cap;
  size_t fail_at;
} mem_sink;

static int mem_sink_write(obd_sink *s, const void *buf, size_t n) {
  mem_sink *m = (mem_sink *)s;
  if (m->n + n > m->fail_at) return obd_fail(OBD_E_IO, "mem sink: disk full");
  if (m->n + n > m->cap) {
    m->cap = (m->n + n) * 2;
    m->p = realloc(m->p, m->cap);
  }
  memcpy(m->p + m->n, buf, n);
  m->n += n;
  return 0;
}

static int mem_sink_rewrite(obd_sink *s, const void *buf, size_t n, uint64_t off) {
  memcpy(((mem_sink *)s)->p + off, buf, n);
  return 0;
}

static int mem_sink_close(obd_sink *s) {
  (void)s;
  return 0;
}

static const obd_sink_ops mem_sink_ops = {
    .write = mem_sink_write, .rewrite = mem_sink_rewrite, .close = mem_sink_close};
static const obd_sink_ops mem_stream_ops = {
    .write = mem_sink_write, .rewrite = NULL, .close = mem_sink_close};

static void mem_sink_init(mem_sink *m, int can_rewrite) {
  memset(m, 0, sizeof *m);
  obd_sink_init(&m->base, can_rewrite ? &mem_sink_ops : &mem_stream_ops, "mem sink");
  m->fail_at = SIZE_MAX;
}

/* Compresses data into out through the writer, fed in `chunk`-byte writes. */
static int compress_to(mem_sink *out, const zfile_options *opt, const uint8_t *data,
                       size_t n, size_t chunk) {
  obd_sink *w;
  OBD_TRY(zfile_writer_open(&out->base, 0, opt, &w));
  for (size_t off = 0; off < n; off += chunk) {
    int rc = obd_sink_write(w, data + off, n - off < chunk ? n - off : chunk);
    if (rc < 0) {
      obd_sink_close(w);
      return rc;
    }
  }
  return obd_sink_close(w);
}

/* Compressible and incompressible stretches, like a filesystem image. */
static void fill_mixed(uint8_t *p, size_t n) {
  static const char words[8][6] = {"over ", "zfile", "block", "\n\n\n\n\n",
                                   "lsmt ", "0000 ", "index", "trail"};
  size_t i = 0;
  while (i < n) {
    size_t run = 1 + rnd() % 9000;
    int kind = (int)(rnd() % 3);
    for (size_t k = 0; k < run && i < n; k++, i++) {
      if (kind == 0) p[i] = (uint8_t)rnd();
      else if (kind == 1) p[i] = 0;
      else p[i] = (uint8_t)words[(i / 7) % 8][i % 5];
    }
  }
}

/* Reads all of z and compares with want. */
static int decodes_to(obd_file *z, const uint8_t *want, size_t n) {
  if (z->size != n) return 0;
  uint8_t *got = malloc(n ? n : 1);
  int64_t r = obd_file_pread(z, got, n, 0);
  int ok = r == (int64_t)n && memcmp(got, want, n) == 0;
  free(got);
  return ok;
}

static int random_reads_match(obd_file *z, const uint8_t *want, size_t n, int count) {
  uint8_t *got = malloc(300000);
  int ok = 1;
  for (int t = 0; t < count && ok; t++) {
    uint64_t off = rnd() % (n + 100);
    size_t len = (size_t)(rnd() % (t % 10 == 0 ? 300000 : 9000));
    int64_t r = obd_file_pread(z, got, len, off);
    size_t expect = off >= n ? 0 : (len < n - off ? len : n - off);
    ok = r == (int64_t)expect && memcmp(got, want + (off < n ? off : 0), expect) == 0;
  }
  free(got);
  return ok;
}

static int detail_has(const char *s) { return strstr(obd_last_error(), s) != NULL; }

/* Offset of block i, from the index (u32 lengths, §1.1) of a loaded file. */
static uint64_t block_offset(const bytes *f, const zfile_info *info, uint64_t i) {
  const zfile_record *r = info->has_trailer ? &info->trailer : &info->header;
  uint64_t off = info->data_offset;
  for (uint64_t k = 0; k < i; k++) off += le32_get(f->p + r->index_offset + 4 * k);
  return off;
}

/* ---- golden vectors ---- */

static void golden_decodes_to_view(const char *name, uint32_t bs, uint8_t algo,
                                   uint8_t verify) {
  bytes view = slurp(check_vector("view.raw"));
  obd_file *z;
  zfile_info info;
  CHECK(view.n == 12u << 20);
  CHECK_EQ_U64(open_path(check_vector(name), &z), 0);
  CHECK_EQ_U64(zfile_get_info(z, &info), 0);
  CHECK(info.has_trailer);
  CHECK_EQ_U64(info.header.flags, 0x13);
  CHECK_EQ_U64(info.trailer.flags, 0x16);
  CHECK_EQ_U64(info.trailer.block_size, bs);
  CHECK_EQ_U64(info.trailer.algo, algo);
  CHECK_EQ_U64(info.trailer.verify, verify);
  CHECK_EQ_U64(info.blocks, view.n / bs);
  CHECK_EQ_U64(info.data_offset, 512);
  CHECK(decodes_to(z, view.p, view.n));
  CHECK(random_reads_match(z, view.p, view.n, 2000));
  uint64_t bad = 77;
  CHECK_EQ_U64(zfile_verify(z, &bad), 0);
  obd_file_close(z);
  free(view.p);
}

static void lz4_4k_crc_decodes(void) {
  golden_decodes_to_view("z_lz4_4k_crc.zfile", 4096, ZFILE_ALGO_LZ4, 1);
}

static void zstd_4k_crc_decodes(void) {
  golden_decodes_to_view("z_zstd_4k_crc.zfile", 4096, ZFILE_ALGO_ZSTD, 1);
}

static void lz4_64k_nocrc_decodes(void) {
  golden_decodes_to_view("z_lz4_64k_nocrc.zfile", 65536, ZFILE_ALGO_LZ4, 0);
}

/* §12: the committed layer, header rewritten with the final values. */
static void layer_zfile_decodes(void) {
  bytes lsmt = slurp(check_vector("layer.lsmt"));
  obd_file *z;
  zfile_info info;
  CHECK(lsmt.n == 5317120);
  CHECK_EQ_U64(open_path(check_vector("layer.zfile"), &z), 0);
  CHECK_EQ_U64(zfile_get_info(z, &info), 0);
  CHECK(!info.has_trailer);
  CHECK_EQ_U64(info.header.flags, 0x1B);
  CHECK_EQ_U64(info.blocks, 1299);
  CHECK_EQ_U64(info.header.index_offset, 2974312);
  CHECK(decodes_to(z, lsmt.p, lsmt.n));
  CHECK(random_reads_match(z, lsmt.p, lsmt.n, 1000));
  obd_file_close(z);
  free(lsmt.p);
}

static void detect_tells_zfiles_apart(void) {
  obd_file *f;
  CHECK_EQ_U64(obd_file_open_path(check_vector("layer.zfile"), &f), 0);
  CHECK_EQ_U64(zfile_detect(f), 1);
  obd_file_close(f);
  CHECK_EQ_U64(obd_file_open_path(check_vector("layer.lsmt"), &f), 0);
  CHECK_EQ_U64(zfile_detect(f), 0);
  zfile_info info;
  CHECK_EQ_U64(zfile_get_info(f, &info), OBD_E_INVAL);
  CHECK_EQ_U64(zfile_verify(f, NULL), OBD_E_INVAL);
  obd_file_close(f);
}

/* §4.3: garbage in unused fields, no DIGEST flag; it must still open. */
static void legacy_baselayer_decodes(void) {
  const char *dir = check_tmp("ext4_64");
  char cmd[16384], path[4200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && tar xzf '%s' -C '%s'", dir,
           check_vector("upstream/ext4_64.tar.gz"), dir);
  CHECK(system(cmd) == 0);
  snprintf(path, sizeof path, "%s/ext4_64", dir);
  obd_file *z;
  zfile_info info;
  uint8_t head[8], tail[8];
  static const uint8_t lsmt_magic[8] = {0x4C, 0x53, 0x4D, 0x54, 0x00, 0x01, 0x02, 0x00};
  CHECK_EQ_U64(open_path(path, &z), 0);
  CHECK_EQ_U64(z->size, 541937664ull);
  CHECK_EQ_U64(zfile_get_info(z, &info), 0);
  CHECK(info.has_trailer);
  CHECK_EQ_U64(info.blocks, 132309);
  CHECK(!(info.header.flags & ZFILE_FLAG_DIGEST));
  CHECK_EQ_U64(obd_file_pread(z, head, 8, 0), 8);
  CHECK(memcmp(head, lsmt_magic, 8) == 0);
  CHECK_EQ_U64(obd_file_pread(z, tail, 8, z->size - 4096), 8); /* LSMT trailer */
  CHECK(memcmp(tail, lsmt_magic, 8) == 0);
  uint64_t bad = 0;
  CHECK_EQ_U64(zfile_verify(z, &bad), 0);
  obd_file_close(z);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

/* ---- writer ---- */

/* §1.5: libzstd level 3 reproduces the reference blocks byte for byte. */
static void zstd_writer_reproduces_golden(void) {
  bytes view = slurp(check_vector("view.raw"));
  bytes gold = slurp(check_vector("z_zstd_4k_crc.zfile"));
  const char *path = check_tmp("zstd.zfile");
  obd_sink *out, *w;
  zfile_options opt;
  zfile_options_default(&opt);
  opt.algo = ZFILE_ALGO_ZSTD;
  opt.overwrite_header = 0;
  CHECK_EQ_U64(obd_sink_open_path(path, 0644, &out), 0);
  CHECK_EQ_U64(zfile_writer_open(out, 1, &opt, &w), 0);
  for (size_t off = 0; off < view.n; off += 10007) /* odd chunks: buffering */
    CHECK_EQ_U64(obd_sink_write(w, view.p + off, view.n - off < 10007 ? view.n - off : 10007), 0);
  CHECK_EQ_U64(obd_sink_close(w), 0);
  bytes ours = slurp(path);
  CHECK_EQ_U64(ours.n, gold.n);
  CHECK(memcmp(ours.p, gold.p, gold.n) == 0);
  free(ours.p);
  free(gold.p);
  free(view.p);
  remove(path);
}

static void overwritten_header_differs_only_in_digest_and_flags(void) {
  bytes view = slurp(check_vector("view.raw"));
  size_t n = 3u << 20;
  mem_sink m;
  zfile_options opt;
  zfile_options_default(&opt);
  mem_sink_init(&m, 1);
  CHECK_EQ_U64(compress_to(&m, &opt, view.p, n, 1 << 20), 0);
  const uint8_t *tr = m.p + m.n - 512;
  CHECK(memcmp(m.p, tr, 28) == 0);
  CHECK(memcmp(m.p + 40, tr + 40, 512 - 40) == 0);
  CHECK(memcmp(m.p + 28, tr + 28, 12) != 0);
  mem_file mf;
  obd_file *z;
  zfile_info info;
  mem_file_init(&mf, m.p, m.n);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), 0);
  CHECK_EQ_U64(zfile_get_info(z, &info), 0);
  CHECK(!info.has_trailer);
  CHECK_EQ_U64(info.header.flags, 0x1B);
  CHECK_EQ_U64(le32_get(m.p + 24), 96); /* size field, §1.2 */
  CHECK(decodes_to(z, view.p, n));
  obd_file_close(z);
  free(m.p);
  free(view.p);
}

/* A sink that cannot seek keeps the initial 0x13 header (upload mode). */
static void stream_sink_keeps_initial_header(void) {
  uint8_t data[10000];
  mem_sink m;
  zfile_options opt;
  fill_mixed(data, sizeof data);
  zfile_options_default(&opt);
  mem_sink_init(&m, 0);
  CHECK_EQ_U64(compress_to(&m, &opt, data, sizeof data, 3000), 0);
  CHECK_EQ_U64(le64_get(m.p + 32), 0x13);
  CHECK_EQ_U64(le64_get(m.p + 40), 0);
  CHECK_EQ_U64(le64_get(m.p + m.n - 512 + 32), 0x16);
  mem_file mf;
  obd_file *z;
  mem_file_init(&mf, m.p, m.n);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), 0);
  CHECK(decodes_to(z, data, sizeof data));
  obd_file_close(z);
  free(m.p);
}

static void round_trip(uint8_t algo, uint32_t bs, uint8_t verify, const uint8_t *data,
                       size_t n) {
  mem_sink m;
  zfile_options opt = {.algo = algo, .block_size = bs, .verify = verify,
                       .overwrite_header = (uint8_t)(n & 1)};
  mem_sink_init(&m, 1);
  CHECK_EQ_U64(compress_to(&m, &opt, data, n, 1 + rnd() % 100000), 0);
  mem_file mf;
  obd_file *z;
  zfile_info info;
  mem_file_init(&mf, m.p, m.n);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), 0);
  CHECK_EQ_U64(zfile_get_info(z, &info), 0);
  CHECK_EQ_U64(info.blocks, (n + bs - 1) / bs);
  CHECK(decodes_to(z, data, n));
  if (n) CHECK(random_reads_match(z, data, n, 200));
  CHECK_EQ_U64(zfile_verify(z, NULL), 0);
  obd_file_close(z);
  free(m.p);
}

static void writer_round_trips(void) {
  size_t max = 9 * 65536 + 1234;
  uint8_t *mixed = malloc(max), *noise = malloc(max);
  fill_mixed(mixed, max);
  for (size_t i = 0; i < max; i++) noise[i] = (uint8_t)rnd();
  for (uint32_t bs = 4096; bs <= 65536; bs *= 2)
    for (uint8_t verify = 0; verify <= 1; verify++) {
      size_t sizes[] = {0, 1, bs - 1, bs, 5 * bs + 777, 9 * bs};
      for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        round_trip(ZFILE_ALGO_LZ4, bs, verify, mixed, sizes[k]);
        round_trip(ZFILE_ALGO_LZ4, bs, verify, noise, sizes[k]);
        if (check_failed_) {
          fprintf(stderr, "  bs %u verify %u size %zu\n", bs, verify, sizes[k]);
          break;
        }
      }
    }
  /* Incompressible 64 KiB blocks store more than 64 KiB (§1.4 note). */
  round_trip(ZFILE_ALGO_ZSTD, 65536, 1, noise, max);
  round_trip(ZFILE_ALGO_ZSTD, 8192, 0, mixed, max);
  free(mixed);
  free(noise);
}

static void empty_input_has_empty_index(void) {
  mem_sink m;
  zfile_options opt;
  zfile_options_default(&opt);
  mem_sink_init(&m, 1);
  CHECK_EQ_U64(compress_to(&m, &opt, NULL, 0, 1), 0);
  CHECK_EQ_U64(m.n, 1024);
  CHECK_EQ_U64(le64_get(m.p + 512 + 40), 512); /* index_offset */
  CHECK_EQ_U64(le64_get(m.p + 512 + 48), 0);   /* index_size */
  free(m.p);
}

static void writer_rejects_bad_options(void) {
  mem_sink m;
  obd_sink *w;
  zfile_options opt;
  mem_sink_init(&m, 1);
  uint32_t sizes[] = {0, 2048, 3000, 4095, 6144, 131072};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    zfile_options_default(&opt);
    opt.block_size = sizes[i];
    CHECK_EQ_U64(zfile_writer_open(&m.base, 0, &opt, &w), (uint64_t)OBD_E_INVAL);
  }
  uint8_t algos[] = {0, 3, 255};
  for (size_t i = 0; i < sizeof algos; i++) {
    zfile_options_default(&opt);
    opt.algo = algos[i];
    CHECK_EQ_U64(zfile_writer_open(&m.base, 0, &opt, &w), (uint64_t)OBD_E_INVAL);
  }
  CHECK_EQ_U64(m.n, 0);
}

/* After a failed write the writer refuses more and close reports it. */
static void writer_error_is_sticky(void) {
  uint8_t data[50000];
  mem_sink m;
  obd_sink *w;
  zfile_options opt;
  fill_mixed(data, sizeof data);
  zfile_options_default(&opt);
  opt.algo = ZFILE_ALGO_ZSTD;
  mem_sink_init(&m, 1);
  m.fail_at = 2000;
  CHECK_EQ_U64(zfile_writer_open(&m.base, 0, &opt, &w), 0);
  CHECK_EQ_U64(obd_sink_write(w, data, sizeof data), (uint64_t)OBD_E_IO);
  CHECK_EQ_U64(obd_sink_write(w, data, 10), (uint64_t)OBD_E_IO);
  m.fail_at = SIZE_MAX;
  CHECK_EQ_U64(obd_sink_close(w), (uint64_t)OBD_E_IO);
  free(m.p);
}

/* ---- corruption ---- */

static void copy_vector(const char *name, bytes *b, zfile_info *info) {
  obd_file *z;
  *b = slurp(check_vector(name));
  CHECK(b->n > 0);
  CHECK_EQ_U64(open_path(check_vector(name), &z), 0);
  CHECK_EQ_U64(zfile_get_info(z, info), 0);
  obd_file_close(z);
}

static void corrupt_block_detected(const char *name) {
  bytes v = slurp(check_vector("view.raw")), f;
  zfile_info info;
  copy_vector(name, &f, &info);
  uint64_t at = block_offset(&f, &info, 12);
  f.p[at + 20] ^= 0x40;
  const char *path = check_tmp("corrupt.zfile");
  CHECK(spill(path, f.p, f.n) == 0);
  obd_file *z;
  uint8_t *buf = malloc(1 << 20);
  CHECK_EQ_U64(open_path(path, &z), 0);
  obd_clear_error();
  CHECK_EQ_U64(obd_file_pread(z, buf, 100, 12 * 4096 + 50), (uint64_t)OBD_E_CORRUPT);
  CHECK(detail_has("block 12 "));
  CHECK(detail_has(path));
  CHECK_EQ_U64(obd_file_pread(z, buf, 1 << 20, 0), (uint64_t)OBD_E_CORRUPT);
  CHECK(detail_has("block 12 "));
  /* neighbours still read back right, whole and in part */
  CHECK_EQ_U64(obd_file_pread(z, buf, 12 * 4096, 0), 12 * 4096);
  CHECK(memcmp(buf, v.p, 12 * 4096) == 0);
  CHECK_EQ_U64(obd_file_pread(z, buf, 5000, 12 * 4096 - 5000), 5000);
  CHECK(memcmp(buf, v.p + 12 * 4096 - 5000, 5000) == 0);
  CHECK_EQ_U64(obd_file_pread(z, buf, 5000, 13 * 4096), 5000);
  CHECK(memcmp(buf, v.p + 13 * 4096, 5000) == 0);
  CHECK_EQ_U64(obd_file_pread(z, buf, 1 << 20, 13 * 4096), 1 << 20);
  CHECK(memcmp(buf, v.p + 13 * 4096, 1 << 20) == 0);
  uint64_t bad = 0;
  CHECK_EQ_U64(zfile_verify(z, &bad), (uint64_t)OBD_E_CORRUPT);
  CHECK_EQ_U64(bad, 12);
  obd_file_close(z);
  free(buf);
  free(f.p);
  free(v.p);
  remove(path);
}

static void corrupt_lz4_block_detected(void) { corrupt_block_detected("z_lz4_4k_crc.zfile"); }
static void corrupt_zstd_block_detected(void) { corrupt_block_detected("z_zstd_4k_crc.zfile"); }

/* A damaged block whose CRC was recomputed: the codec must catch it. */
static void undecodable_block_detected(const char *name, uint8_t fill) {
  bytes f;
  zfile_info info;
  copy_vector(name, &f, &info);
  uint64_t at = block_offset(&f, &info, 5), end = block_offset(&f, &info, 6) - 4;
  memset(f.p + at, fill, (size_t)(end - at));
  le32_put(f.p + end, crc32c_raw(CRC32C_BLOCK_SEED, f.p + at, (size_t)(end - at)));
  mem_file mf;
  obd_file *z;
  uint8_t buf[4096];
  mem_file_init(&mf, f.p, f.n);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), 0);
  CHECK_EQ_U64(obd_file_pread(z, buf, 4096, 5 * 4096), (uint64_t)OBD_E_CORRUPT);
  CHECK(detail_has("block 5 "));
  CHECK_EQ_U64(obd_file_pread(z, buf, 10, 5 * 4096 + 7), (uint64_t)OBD_E_CORRUPT);
  CHECK_EQ_U64(obd_file_pread(z, buf, 4096, 6 * 4096), 4096);
  obd_file_close(z);
  free(f.p);
}

static void undecodable_lz4_block_detected(void) {
  undecodable_block_detected("z_lz4_4k_crc.zfile", 0x00);
}

static void undecodable_zstd_block_detected(void) {
  undecodable_block_detected("z_zstd_4k_crc.zfile", 0x5A);
}

static void corrupt_header_with_digest_rejected(void) {
  bytes f = slurp(check_vector("z_lz4_4k_crc.zfile"));
  f.p[300] ^= 1; /* padding, but covered by the digest */
  const char *path = check_tmp("badhdr.zfile");
  CHECK(spill(path, f.p, f.n) == 0);
  obd_file *src, *z;
  CHECK_EQ_U64(obd_file_open_path(path, &src), 0);
  CHECK_EQ_U64(zfile_detect(src), (uint64_t)OBD_E_CORRUPT);
  CHECK_EQ_U64(zfile_open(src, 0, &z), (uint64_t)OBD_E_CORRUPT);
  obd_file_close(src);
  free(f.p);
  remove(path);
}

static void bad_index_crc_rejected(void) {
  bytes f;
  zfile_info info;
  copy_vector("z_lz4_4k_crc.zfile", &f, &info);
  f.p[info.trailer.index_offset + 41] ^= 0x10;
  mem_file mf;
  obd_file *z;
  mem_file_init(&mf, f.p, f.n);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), (uint64_t)OBD_E_CORRUPT);
  CHECK(detail_has("index"));
  free(f.p);
}

static int is_clean_error(int rc) {
  return rc == OBD_E_TRUNCATED || rc == OBD_E_FORMAT || rc == OBD_E_CORRUPT;
}

/* A file whose header was rewritten needs no trailer, so losing only the
 * trailer is harmless there: such cuts must then read back right. */
static void truncated_files_fail_cleanly(void) {
  const char *names[] = {"z_lz4_4k_crc.zfile", "layer.zfile", "z_lz4_64k_nocrc.zfile"};
  bytes lsmt = slurp(check_vector("layer.lsmt"));
  for (size_t i = 0; i < 3; i++) {
    bytes f = slurp(check_vector(names[i]));
    size_t cuts[] = {0, 100, 511, 512, 600, 1023, 1024, f.n / 2, f.n - 1, f.n - 512};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
      const char *path = check_tmp("cut.zfile");
      CHECK(spill(path, f.p, cuts[k]) == 0);
      obd_file *z;
      int rc = open_path(path, &z);
      if (rc == 0 && i == 1 && cuts[k] >= f.n - 512) {
        CHECK(decodes_to(z, lsmt.p, lsmt.n));
        obd_file_close(z);
        rc = OBD_E_TRUNCATED;
      }
      if (!is_clean_error(rc)) fprintf(stderr, "  %s cut at %zu: %d\n", names[i], cuts[k], rc);
      CHECK(is_clean_error(rc));
      remove(path);
    }
    free(f.p);
  }
  free(lsmt.p);
}

static void garbage_is_not_a_zfile(void) {
  uint8_t junk[8192];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)rnd();
  mem_file mf;
  obd_file *z;
  mem_file_init(&mf, junk, sizeof junk);
  CHECK_EQ_U64(zfile_detect(&mf.base), 0);
  CHECK_EQ_U64(zfile_open(&mf.base, 0, &z), (uint64_t)OBD_E_FORMAT);
}

/* Opens the mutated bytes and reads everything: either some error, or the
 * exact original content. Returns 0 when that holds. */
static int mutant_is_safe(const uint8_t *p, size_t n, const uint8_t *want, size_t wn) {
  mem_file mf;
  obd_file *z;
  mem_file_init(&mf, p, n);
  if (zfile_open(&mf.base, 0, &z) < 0) return 0;
  size_t len = z->size < wn + 65536 ? (size_t)z->size : wn + 65536;
  uint8_t *buf = malloc(len + 1);
  int64_t r = obd_file_pread(z, buf, len, 0);
  int ok = r < 0 || (z->size == wn && r == (int64_t)wn && memcmp(buf, want, wn) == 0);
  free(buf);
  obd_file_close(z);
  return ok ? 0 : -1;
}

/* Every byte of header, index and trailer (and of the blocks, when they carry
 * CRCs) flipped with a few masks. */
static void mutation_corpus(uint8_t verify, uint8_t overwrite, int digest) {
  size_t n = 17 * 4096 + 777;
  uint8_t *data = malloc(n);
  fill_mixed(data, n);
  mem_sink m;
  zfile_options opt = {.algo = ZFILE_ALGO_LZ4, .block_size = 4096, .verify = verify,
                       .overwrite_header = overwrite};
  mem_sink_init(&m, 1);
  CHECK_EQ_U64(compress_to(&m, &opt, data, n, n), 0);
  if (!digest) { /* a legacy-style file: no DIGEST anywhere */
    zfile_record r;
    CHECK_EQ_U64(zfile_record_decode(m.p, 512, &r, NULL), 0);
    r.flags &= ~(uint64_t)ZFILE_FLAG_DIGEST;
    CHECK_EQ_U64(zfile_record_encode(&r, m.p, 512), 512);
    CHECK_EQ_U64(zfile_record_decode(m.p + m.n - 512, 512, &r, NULL), 0);
    r.flags &= ~(uint64_t)ZFILE_FLAG_DIGEST;
    CHECK_EQ_U64(zfile_record_encode(&r, m.p + m.n - 512, 512), 512);
  }
  CHECK_EQ_U64(mutant_is_safe(m.p, m.n, data, n), 0);
  uint64_t index_off = le64_get(m.p + m.n - 512 + 40);
  static const uint8_t masks[] = {0x01, 0x80, 0xFF};
  for (size_t pos = 0; pos < m.n; pos++) {
    int in_blocks = pos >= 512 && pos < index_off;
    if (in_blocks && !verify) continue; /* nothing can catch those */
    for (size_t k = 0; k < sizeof masks; k++) {
      m.p[pos] ^= masks[k];
      int rc = mutant_is_safe(m.p, m.n, data, n);
      m.p[pos] ^= masks[k];
      if (rc != 0) fprintf(stderr, "  byte %zu ^ 0x%02x read back wrong\n", pos, masks[k]);
      CHECK(rc == 0);
    }
  }
  /* Cuts at every length must never crash either. */
  for (size_t cut = 0; cut < m.n; cut += 97) (void)mutant_is_safe(m.p, cut, data, n);
  free(m.p);
  free(data);
}

static void mutations_crc_trailer(void) { mutation_corpus(1, 0, 1); }
static void mutations_crc_header(void) { mutation_corpus(1, 1, 1); }
static void mutations_nocrc(void) { mutation_corpus(0, 0, 1); }
static void mutations_legacy(void) { mutation_corpus(1, 0, 0); }

/* ---- allocation ---- */

static void steady_reads_do_not_allocate(void) {
  const char *names[] = {"z_lz4_4k_crc.zfile", "z_zstd_4k_crc.zfile"};
  uint8_t *buf = malloc(300000);
  for (size_t i = 0; i < 2; i++) {
    obd_file *z;
    CHECK_EQ_U64(open_path(check_vector(names[i]), &z), 0);
    CHECK(obd_file_pread(z, buf, 300000, 12345) == 300000);
    uint64_t before = obd_alloc_count();
    for (int t = 0; t < 1000; t++) {
      uint64_t off = rnd() % z->size;
      CHECK(obd_file_pread(z, buf, 1 + rnd() % 300000, off) > 0);
    }
    CHECK_EQ_U64(obd_alloc_count(), before);
    CHECK_EQ_U64(zfile_verify(z, NULL), 0);
    CHECK_EQ_U64(obd_alloc_count(), before);
    obd_file_close(z);
  }
  free(buf);
}

static void open_fails_cleanly_without_memory(void) {
  const char *names[] = {"z_lz4_4k_crc.zfile", "z_zstd_4k_crc.zfile", "layer.zfile"};
  for (size_t i = 0; i < 3; i++) {
    int k;
    for (k = 0; k < 1000; k++) {
      obd_file *z;
      obd_alloc_fail_after(k);
      int rc = open_path(check_vector(names[i]), &z);
      obd_alloc_fail_after(-1);
      if (rc == 0) {
        obd_file_close(z);
        break;
      }
      CHECK_EQ_U64(rc, (uint64_t)OBD_E_NOMEM);
    }
    CHECK(k > 2 && k < 1000);
  }
}

static void writer_open_fails_cleanly_without_memory(void) {
  uint8_t algos[] = {ZFILE_ALGO_LZ4, ZFILE_ALGO_ZSTD};
  for (size_t i = 0; i < 2; i++) {
    int k;
    for (k = 0; k < 1000; k++) {
      mem_sink m;
      obd_sink *w;
      zfile_options opt;
      zfile_options_default(&opt);
      opt.algo = algos[i];
      mem_sink_init(&m, 1);
      obd_alloc_fail_after(k);
      int rc = zfile_writer_open(&m.base, 0, &opt, &w);
      obd_alloc_fail_after(-1);
      if (rc == 0) {
        CHECK_EQ_U64(obd_sink_close(w), 0);
        free(m.p);
        break;
      }
      CHECK_EQ_U64(rc, (uint64_t)OBD_E_NOMEM);
      free(m.p);
    }
    CHECK(k > 2 && k < 1000);
  }
}

/* ---- threads ---- */

typedef struct reader_job {
  obd_file *z;
  const bytes *want;
  uint64_t seed;
  int ok;
} reader_job;

static void *reader_thread(void *arg) {
  reader_job *j = arg;
  uint64_t s = j->seed;
  uint8_t *buf = malloc(200000);
  j->ok = 1;
  for (int t = 0; t < 300 && j->ok; t++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    uint64_t off = s % j->want->n;
    size_t len = (size_t)((s >> 32) % 200000);
    if (len > j->want->n - off) len = j->want->n - off;
    int64_t r = obd_file_pread(j->z, buf, len, off);
    j->ok = r == (int64_t)len && memcmp(buf, j->want->p + off, len) == 0;
  }
  free(buf);
  return NULL;
}

static void concurrent_reads_are_correct(void) {
  const char *names[] = {"z_lz4_4k_crc.zfile", "z_zstd_4k_crc.zfile"};
  int counts[] = {4, 12}; /* 12 > the slot pool: some threads wait */
  bytes view = slurp(check_vector("view.raw"));
  for (size_t i = 0; i < 2; i++) {
    obd_file *z;
    pthread_t th[12];
    reader_job jobs[12];
    CHECK_EQ_U64(open_path(check_vector(names[i]), &z), 0);
    for (int t = 0; t < counts[i]; t++) {
      jobs[t] = (reader_job){.z = z, .want = &view, .seed = 0x1234567ull * (t + 1)};
      CHECK(pthread_create(&th[t], NULL, reader_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < counts[i]; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < counts[i]; t++) CHECK(jobs[t].ok);
    obd_file_close(z);
  }
  free(view.p);
}

int main(void) {
  static const check_case cases[] = {
      {"zfile_open() decodes z_lz4_4k_crc.zfile to view.raw", lz4_4k_crc_decodes},
      {"zfile_open() decodes z_zstd_4k_crc.zfile to view.raw", zstd_4k_crc_decodes},
      {"zfile_open() decodes z_lz4_64k_nocrc.zfile to view.raw", lz4_64k_nocrc_decodes},
      {"zfile_open() decodes layer.zfile via its rewritten header", layer_zfile_decodes},
      {"zfile_detect() accepts zfiles and rejects other files", detect_tells_zfiles_apart},
      {"zfile_open() reads the legacy baselayer with garbage fields", legacy_baselayer_decodes},
      {"zfile writer reproduces z_zstd_4k_crc.zfile byte for byte", zstd_writer_reproduces_golden},
      {"zfile writer header and trailer differ only in bytes 28..39", overwritten_header_differs_only_in_digest_and_flags},
      {"zfile writer keeps header 0x13 when the sink cannot rewrite", stream_sink_keeps_initial_header},
      {"zfile writer output decodes back for all block sizes", writer_round_trips},
      {"zfile writer of empty input writes index_size 0", empty_input_has_empty_index},
      {"zfile_writer_open() rejects bad options with OBD_E_INVAL", writer_rejects_bad_options},
      {"zfile writer keeps the first write error until close", writer_error_is_sticky},
      {"zfile read of a corrupt lz4 block fails naming it", corrupt_lz4_block_detected},
      {"zfile read of a corrupt zstd block fails naming it", corrupt_zstd_block_detected},
      {"zfile read of an undecodable lz4 block with good crc fails", undecodable_lz4_block_detected},
      {"zfile read of an undecodable zstd block with good crc fails", undecodable_zstd_block_detected},
      {"zfile_open() rejects a header whose digest is wrong", corrupt_header_with_digest_rejected},
      {"zfile_open() rejects an index whose crc is wrong", bad_index_crc_rejected},
      {"zfile_open() fails cleanly on truncated files", truncated_files_fail_cleanly},
      {"zfile_open() rejects random bytes as OBD_E_FORMAT", garbage_is_not_a_zfile},
      {"zfile mutants (trailer used, crc) never read back wrong", mutations_crc_trailer},
      {"zfile mutants (header used, crc) never read back wrong", mutations_crc_header},
      {"zfile mutants (no block crc) never read back wrong", mutations_nocrc},
      {"zfile mutants (no digest) never read back wrong", mutations_legacy},
      {"zfile reads make no allocation after warm-up", steady_reads_do_not_allocate},
      {"zfile_open() fails with OBD_E_NOMEM at every allocation", open_fails_cleanly_without_memory},
      {"zfile_writer_open() fails with OBD_E_NOMEM at every allocation", writer_open_fails_cleanly_without_memory},
      {"zfile reads from many threads at once are correct", concurrent_reads_are_correct},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
