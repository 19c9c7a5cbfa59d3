/* LSMT index benchmark: lookups in a sorted committed-layer index
 * (lsmt_index_lookup, what readers use), resident memory of a 1M-segment
 * layer opened with lsmt_ro_open, and inserts into the writable layer's
 * interval map.
 *
 *   make -C native benches && native/build/bench/lsmt_lookup
 *
 * OBD_TMP names the scratch directory (default /tmp). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"
#include "lsmt_segset.h"

/* Largest record count lsmt_ro_open accepts once padded to 256 (§2.4/§2.5). */
#define RO_SEGMENTS (LSMT_MAX_RO_INDEX / LSMT_INDEX_ALIGN * LSMT_INDEX_ALIGN)

static uint64_t rng_state = 0x853C49E6748FEA9Bull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

/* A committed-layer-like index: random lengths (1..128 sectors) and random
 * gaps (0..64), moffsets packed as commit lays them out. */
static lsmt_seg *make_index(size_t n, uint64_t *span) {
  lsmt_seg *v = malloc(n * sizeof *v);
  uint64_t off = 0, m = 8;
  for (size_t i = 0; v && i < n; i++) {
    off += rnd() % 65;
    uint32_t len = 1 + (uint32_t)(rnd() % 128);
    v[i] = lsmt_seg_make(off, len, m, rnd() % 16 == 0, 0);
    off += len;
    m += len;
  }
  *span = off;
  return v;
}

static void bench_lookup(size_t n) {
  uint64_t span, sum = 0;
  lsmt_seg *idx = make_index(n, &span), out[16];
  if (!idx) return;
  const size_t queries = 4000000;
  double t0 = now();
  for (size_t q = 0; q < queries; q++) {
    uint64_t off = rnd() % span, len = 1 + rnd() % 8;
    size_t got = lsmt_index_lookup(idx, n, off, len, out, 16);
    sum += got ? lsmt_seg_moffset(out[0]) + got : 0;
  }
  double dt = now() - t0;
  printf("%-44s %12.2f M/s   (%zu segments, checksum %llu)\n", "index lookup, 1-8 sectors",
         (double)queries / dt / 1e6, n, (unsigned long long)(sum % 1000));
  free(idx);
}

/* Child process: writes a committed layer of RO_SEGMENTS zeroed records
 * (gaps between them so commit cannot merge any). */
static int write_layer(const char *dir, const char *out) {
  char d[4096], x[4096];
  snprintf(d, sizeof d, "%s/bench-%d.data", dir, (int)getpid());
  snprintf(x, sizeof x, "%s/bench-%d.index", dir, (int)getpid());
  lsmt_rw_options opt = {.virtual_size = 4 * RO_SEGMENTS * LSMT_SECTOR};
  lsmt_rw *l;
  obd_sink *sink;
  int rc = lsmt_rw_create(d, x, &opt, &l);
  for (uint64_t i = 0; rc == 0 && i < RO_SEGMENTS; i++)
    rc = lsmt_rw_discard(l, 2 * i * LSMT_SECTOR, LSMT_SECTOR, 0);
  if (rc == 0) rc = obd_sink_open_path(out, 0644, &sink);
  if (rc == 0) {
    rc = lsmt_commit(l, sink, NULL);
    int rc2 = obd_sink_close(sink);
    if (rc == 0) rc = rc2;
  }
  lsmt_rw_close(l);
  unlink(d);
  unlink(x);
  if (rc < 0) fprintf(stderr, "write layer: %s\n", obd_last_error());
  return rc < 0;
}

/* Measured in this process before it allocates anything large, so freed
 * heap memory cannot hide the index's cost. */
static void bench_ro_rss(void) {
  const char *dir = getenv("OBD_TMP") ? getenv("OBD_TMP") : "/tmp";
  char out[4096];
  int status;
  snprintf(out, sizeof out, "%s/bench-%d.lsmt", dir, (int)getpid());
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) _exit(write_layer(dir, out));
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || status != 0) {
    fprintf(stderr, "could not write %s\n", out);
    return;
  }
  double t_write = now() - t0;
  long before = rss_kib();
  obd_file *f;
  lsmt_ro *l;
  t0 = now();
  if (obd_file_open_path(out, &f) < 0 || lsmt_ro_open(f, 1, &l) < 0) {
    fprintf(stderr, "open: %s\n", obd_last_error());
    return;
  }
  double t_open = now() - t0;
  long after = rss_kib();
  size_t n;
  lsmt_ro_index(l, &n);
  printf("%-44s %12.2f s\n", "create+discard+commit of the layer", t_write);
  printf("%-44s %12.3f s     (%zu segments)\n", "lsmt_ro_open of it", t_open, n);
  printf("%-44s %12.1f MB    (goal <= 24 MB)\n", "VmRSS delta of the opened layer",
         (double)(after - before) / 1024.0);
  lsmt_ro_close(l);
  unlink(out);
}

static void bench_segset(int random, size_t n) {
  lsmt_segset *s;
  if (lsmt_segset_create(&s) < 0) return;
  double t0 = now();
  for (size_t i = 0; i < n; i++) {
    uint64_t off = random ? rnd() % (1ull << 32) : 16 * (uint64_t)i;
    uint32_t len = 1 + (uint32_t)(rnd() % 16);
    if (lsmt_segset_insert(s, lsmt_seg_make(off, len, 8 + i, 0, 0)) < 0) break;
  }
  double dt = now() - t0;
  printf("%-44s %12.2f M/s   (%zu segments after %zu inserts)\n",
         random ? "segset insert, random offsets" : "segset insert, ascending offsets",
         (double)n / dt / 1e6, lsmt_segset_count(s), n);
  lsmt_seg out[16];
  uint64_t sum = 0;
  t0 = now();
  for (size_t q = 0; q < 2000000; q++)
    sum += lsmt_segset_lookup(s, rnd() % (random ? 1ull << 32 : 16 * n), 8, out, 16);
  dt = now() - t0;
  printf("%-44s %12.2f M/s   (checksum %llu)\n", "segset lookup, 8 sectors",
         2000000 / dt / 1e6, (unsigned long long)(sum % 1000));
  lsmt_segset_destroy(s);
}

int main(void) {
  printf("%-44s %12s\n", "benchmark", "result");
  bench_ro_rss();
  bench_lookup(1000);
  bench_lookup(1000000);
  bench_segset(1, 1000000);
  bench_segset(0, 1000000);
  bench_segset(1, 4000000);
  return 0;
}
