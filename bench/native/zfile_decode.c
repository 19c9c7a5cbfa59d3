/* Sequential ZFile decode through the reader (1 MiB preads: CRC check, slot
 * pool, source preads from the page cache) against the bare codec decoding
 * the same compressed blocks from memory, with no CRC and no I/O.
 *
 *   ./native/build/bench/zfile_decode          write 3 ZFiles of ~64 MiB, compare
 *   ./native/build/bench/zfile_decode FILE     the same for an existing ZFile
 *   OBD_BENCH_KEEP=1 keeps the written ZFiles in /tmp.
 *
 * Each measurement is the best of three runs. */
#include <dirent.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zstd.h>

#include "crc32c.h"
#include "error.h"
#include "le.h"
#include "zfile.h"

#define DATA_BYTES (64u << 20)
#define READ_BYTES (1u << 20)
#define RUNS 3

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the file at path to buf (up to cap); returns the new fill. */
static size_t append_file(const char *path, uint8_t *buf, size_t fill, size_t cap) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return fill;
  FILE *f = fopen(path, "rb");
  if (!f) return fill;
  fill += fread(buf + fill, 1, cap - fill, f);
  fclose(f);
  return fill;
}

/* Real executables, in name order so every run sees the same bytes; text
 * made up deterministically if /usr/bin holds too little. */
static void make_data(uint8_t *buf, size_t cap) {
  size_t fill = 0, n = 0;
  char *names[8192];
  DIR *d = opendir("/usr/bin");
  struct dirent *e;
  while (d && (e = readdir(d)) && n < 8192)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  if (d) closedir(d);
  qsort(names, n, sizeof names[0], by_name);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "/usr/bin/%s", names[i]);
    if (fill < cap) fill = append_file(path, buf, fill, cap);
    free(names[i]);
  }
  uint32_t x = 12345;
  while (fill < cap) {
    x = x * 1103515245u + 12345u;
    int len = snprintf((char *)buf + fill, cap - fill, "line %u: key_%u = value %u\n",
                       (unsigned)fill, (x >> 16) % 977, (x >> 8) % 31);
    fill += len > 0 ? (size_t)len : 1;
  }
}

static int write_zfile(const char *path, const zfile_options *opt, const uint8_t *data,
                       size_t n) {
  obd_sink *out, *w;
  OBD_TRY(obd_sink_open_path(path, 0644, &out));
  int rc = zfile_writer_open(out, 1, opt, &w);
  if (rc < 0) {
    obd_sink_close(out);
    return rc;
  }
  for (size_t off = 0; off < n && rc == 0; off += READ_BYTES)
    rc = obd_sink_write(w, data + off, n - off < READ_BYTES ? n - off : READ_BYTES);
  int crc = obd_sink_close(w);
  return rc < 0 ? rc : crc;
}

static int read_all(obd_file *z, uint8_t *out) {
  for (uint64_t off = 0; off < z->size; off += READ_BYTES) {
    int64_t r = obd_file_pread(z, out, READ_BYTES, off);
    if (r < 0) return (int)r;
  }
  return 0;
}

/* The compressed blocks of a ZFile, in memory. */
typedef struct blocks {
  uint8_t *file;
  uint64_t *start; /* n + 1 offsets */
  uint64_t n;
  uint32_t bs;
  uint8_t algo, verify;
  uint64_t size;
} blocks;

static int load_blocks(const char *path, obd_file *z, blocks *b) {
  zfile_info info;
  OBD_TRY(zfile_get_info(z, &info));
  const zfile_record *r = info.has_trailer ? &info.trailer : &info.header;
  FILE *f = fopen(path, "rb");
  if (!f) return OBD_E_IO;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  b->file = malloc((size_t)len);
  size_t got = fread(b->file, 1, (size_t)len, f);
  fclose(f);
  if (got != (size_t)len) return OBD_E_IO;
  b->n = info.blocks;
  b->bs = r->block_size;
  b->algo = r->algo;
  b->verify = r->verify;
  b->size = r->original_file_size;
  b->start = malloc((b->n + 1) * sizeof *b->start);
  b->start[0] = info.data_offset;
  for (uint64_t i = 0; i < b->n; i++)
    b->start[i + 1] = b->start[i] + le32_get(b->file + r->index_offset + 4 * i);
  return 0;
}

/* Bare codec over every block, into a 1 MiB buffer at the same place the
 * reader would put it; with `crc`, plus the block CRC the format requires
 * every reader to check (the floor for a correct reader). */
static int raw_decode(const blocks *b, uint8_t *out, ZSTD_DCtx *dctx, int crc) {
  for (uint64_t i = 0; i < b->n; i++) {
    const uint8_t *in = b->file + b->start[i];
    size_t n = (size_t)(b->start[i + 1] - b->start[i]) - (b->verify ? 4 : 0);
    if (crc && b->verify && crc32c_raw(CRC32C_BLOCK_SEED, in, n) != le32_get(in + n)) return -1;
    uint64_t at = i * b->bs;
    size_t want = b->size - at < b->bs ? (size_t)(b->size - at) : b->bs;
    uint8_t *dst = out + at % READ_BYTES;
    if (b->algo == ZFILE_ALGO_LZ4) {
      if (LZ4_decompress_safe((const char *)in, (char *)dst, (int)n, (int)want) != (int)want)
        return -1;
    } else if (ZSTD_decompressDCtx(dctx, dst, want, in, n) != want) {
      return -1;
    }
  }
  return 0;
}

/* Best of RUNS for each of two measurements, alternated so that both see the
 * same background load. */
static int best_pair(int (*fa)(void *), void *a, int (*fb)(void *), void *b,
                     uint64_t bytes, double *mbps_a, double *mbps_b) {
  *mbps_a = *mbps_b = 0;
  for (int run = 0; run < RUNS; run++) {
    double t0 = now();
    if (fa(a) < 0) return -1;
    double t1 = now();
    if (fb(b) < 0) return -1;
    double t2 = now();
    if ((double)bytes / (t1 - t0) / 1e6 > *mbps_a) *mbps_a = (double)bytes / (t1 - t0) / 1e6;
    if ((double)bytes / (t2 - t1) / 1e6 > *mbps_b) *mbps_b = (double)bytes / (t2 - t1) / 1e6;
  }
  return 0;
}

typedef struct ours_arg {
  obd_file *z;
  uint8_t *out;
} ours_arg;

static int run_ours(void *p) {
  ours_arg *a = p;
  return read_all(a->z, a->out);
}

typedef struct raw_arg {
  const blocks *b;
  uint8_t *out;
  ZSTD_DCtx *dctx;
  int crc;
} raw_arg;

static int run_raw(void *p) {
  raw_arg *a = p;
  return raw_decode(a->b, a->out, a->dctx, a->crc);
}

static int bench_file(const char *label, const char *path, const uint8_t *expect) {
  obd_file *src, *z;
  blocks b;
  uint8_t *out = malloc(READ_BYTES);
  OBD_TRY(obd_file_open_path(path, &src));
  int rc = zfile_open(src, 1, &z);
  if (rc < 0) {
    obd_file_close(src);
    return rc;
  }
  if (expect) { /* correctness once, outside the timing */
    for (uint64_t off = 0; off < z->size; off += READ_BYTES) {
      int64_t r = obd_file_pread(z, out, READ_BYTES, off);
      if (r < 0 || memcmp(out, expect + off, (size_t)r) != 0) return OBD_E_CORRUPT;
    }
  }
  OBD_TRY(load_blocks(path, z, &b));
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  ours_arg oa = {z, out};
  raw_arg ra = {&b, out, dctx, 0}, rc_arg = {&b, out, dctx, 1};
  read_all(z, out); /* warm the page cache */
  double ours, raw, ours2, raw_crc;
  int bad = best_pair(run_ours, &oa, run_raw, &ra, z->size, &ours, &raw);
  bad |= best_pair(run_ours, &oa, run_raw, &rc_arg, z->size, &ours2, &raw_crc);
  /* Each ratio compares the two measurements taken side by side in one pair. */
  printf("%-22s %8.1f %10.1f %10.1f %12.1f %8.3f %10.3f\n", label,
         (double)z->size / (double)(b.start[b.n] - b.start[0]), ours, raw, raw_crc,
         ours / raw, ours2 / raw_crc);
  ZSTD_freeDCtx(dctx);
  obd_file_close(z);
  free(b.file);
  free(b.start);
  free(out);
  return bad ? OBD_E_CORRUPT : 0;
}

static void header(void) {
  printf("%-22s %8s %10s %10s %12s %8s %10s\n", "case", "ratio", "ours MB/s", "raw MB/s",
         "raw+crc MB/s", "ours/raw", "ours/+crc");
}

int main(int argc, char **argv) {
  if (argc > 1) {
    header();
    int rc = bench_file(argv[1], argv[1], NULL);
    if (rc < 0) fprintf(stderr, "%s: %s\n", obd_strerror(rc), obd_last_error());
    return rc < 0;
  }
  static const struct {
    const char *label, *path;
    uint8_t algo;
    uint32_t bs;
  } cases[] = {
      {"lz4 4 KiB crc", "/tmp/obd_bench_lz4_4k.zfile", ZFILE_ALGO_LZ4, 4096},
      {"lz4 64 KiB crc", "/tmp/obd_bench_lz4_64k.zfile", ZFILE_ALGO_LZ4, 65536},
      {"zstd 4 KiB crc", "/tmp/obd_bench_zstd_4k.zfile", ZFILE_ALGO_ZSTD, 4096},
  };
  uint8_t *data = malloc(DATA_BYTES);
  make_data(data, DATA_BYTES);
  printf("input: %u MiB (/usr/bin executables, then text); reads of %u KiB\n",
         DATA_BYTES >> 20, READ_BYTES >> 10);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    zfile_options opt;
    zfile_options_default(&opt);
    opt.algo = cases[i].algo;
    opt.block_size = cases[i].bs;
    double t0 = now();
    int rc = write_zfile(cases[i].path, &opt, data, DATA_BYTES);
    if (rc < 0) {
      fprintf(stderr, "%s: %s\n", obd_strerror(rc), obd_last_error());
      return 1;
    }
    printf("wrote %-22s compress %.1f MB/s\n", cases[i].path,
           DATA_BYTES / (now() - t0) / 1e6);
  }
  header();
  int failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = bench_file(cases[i].label, cases[i].path, data);
    if (rc < 0) {
      fprintf(stderr, "%s: %s: %s\n", cases[i].label, obd_strerror(rc), obd_last_error());
      failed = 1;
    }
    if (!getenv("OBD_BENCH_KEEP")) remove(cases[i].path);
  }
  free(data);
  return failed;
}
