/* Blob cache: the golden layer blob read as a remote blob through the cache
 * and a fetch bridge whose owner is a pool of worker threads serving the
 * bytes of overlaybd.commit, with fault injection (fail, short, delay past
 * the timeout, corrupt bytes). Checks the view, fetch counts per page,
 * persistence across reopen, concurrency, eviction under a cap, healing of
 * corrupt pages, allocation failures and allocation-free cached reads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "cache.h"
#include "check.h"
#include "fetch.h"
#include "file.h"
#include "image.h"
#include "layer.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define VIEW_BYTES (12u * MIB)
#define GRAIN 4096u /* fetch counts are kept per 4 KiB of the blob */
#define DIGEST "sha256:854cbd1b4e31d81accc7d38358f20af6d4d5f4fd8cbfecb5aa7eda8b9a590489"
#define HEX "854cbd1b4e31d81accc7d38358f20af6d4d5f4fd8cbfecb5aa7eda8b9a590489"
#define BLOB_ID 1u
#define WORKERS 4
#define ERR(code) ((uint64_t)(int64_t)(code))

enum fault { F_NONE, F_FAIL, F_SHORT, F_CORRUPT };

typedef struct request {
  uint64_t id, off, len;
  uint8_t *buf;
} request;

/* The stand-in for the TypeScript side. Global because start() carries no
 * context pointer. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  request q[256];
  size_t head, tail;
  int stop;
  fetch_bridge *bridge;
  /* Fault injection, guarded by lock; `left` < 0 means every request. */
  int fault;
  int left;
  uint64_t bad_lo, bad_hi; /* F_CORRUPT flips bytes in this range only */
  int delay_ms;
  /* Accounting. */
  atomic_uint_fast64_t served, bytes;
  atomic_uint grains[1024]; /* requests that covered each 4 KiB */
  pthread_t workers[WORKERS];
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static uint8_t *blob;
static size_t blob_len;
static uint8_t *view;

static int load_vectors(void) {
  size_t vlen = 0;
  if (!blob) blob = check_slurp(check_vector("overlaybd.commit"), &blob_len);
  if (!view) view = check_slurp(check_vector("view.raw"), &vlen);
  return blob && view && blob_len <= 1024 * GRAIN ? 0 : -1;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void serve(const request *r) {
  pthread_mutex_lock(&fake.lock);
  int fault = F_NONE, delay = fake.delay_ms;
  uint64_t lo = fake.bad_lo, hi = fake.bad_hi;
  int overlaps = fake.fault != F_CORRUPT || (r->off < hi && lo < r->off + r->len);
  if (fake.fault != F_NONE && fake.left != 0 && overlaps) {
    fault = fake.fault;
    if (fake.left > 0) fake.left--;
  }
  pthread_mutex_unlock(&fake.lock);
  if (delay) sleep_ms(delay);
  atomic_fetch_add(&fake.served, 1);
  atomic_fetch_add(&fake.bytes, r->len);
  for (uint64_t g = r->off / GRAIN; g * GRAIN < r->off + r->len; g++)
    atomic_fetch_add(&fake.grains[g], 1);
  if (r->off > blob_len || r->len > blob_len - r->off) {
    fetch_bridge_complete(fake.bridge, r->id, -1, "range past the end of the blob");
    return;
  }
  memcpy(r->buf, blob + r->off, r->len);
  if (fault == F_FAIL) {
    fetch_bridge_complete(fake.bridge, r->id, -1, "injected failure");
  } else if (fault == F_SHORT) {
    fetch_bridge_complete(fake.bridge, r->id, (int64_t)r->len - 1, NULL);
  } else {
    if (fault == F_CORRUPT)
      for (uint64_t i = lo > r->off ? lo : r->off; i < hi && i < r->off + r->len; i++)
        r->buf[i - r->off] ^= 0x5a;
    fetch_bridge_complete(fake.bridge, r->id, (int64_t)r->len, NULL);
  }
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&fake.lock);
  for (;;) {
    while (fake.head == fake.tail && !fake.stop) pthread_cond_wait(&fake.cond, &fake.lock);
    if (fake.head == fake.tail) break;
    request r = fake.q[fake.head++ % 256];
    pthread_mutex_unlock(&fake.lock);
    serve(&r);
    pthread_mutex_lock(&fake.lock);
  }
  pthread_mutex_unlock(&fake.lock);
  return NULL;
}

static void start(uint64_t id, uint32_t blob_id, uint64_t off, uint64_t len, void *buf) {
  (void)blob_id;
  pthread_mutex_lock(&fake.lock);
  fake.q[fake.tail++ % 256] = (request){id, off, len, buf};
  pthread_cond_signal(&fake.cond);
  pthread_mutex_unlock(&fake.lock);
}

static void fake_reset_counts(void) {
  atomic_store(&fake.served, 0);
  atomic_store(&fake.bytes, 0);
  for (int i = 0; i < 1024; i++) atomic_store(&fake.grains[i], 0);
}

static void fake_fault(int fault, int left, uint64_t lo, uint64_t hi) {
  pthread_mutex_lock(&fake.lock);
  fake.fault = fault;
  fake.left = left;
  fake.bad_lo = lo;
  fake.bad_hi = hi;
  pthread_mutex_unlock(&fake.lock);
}

static void fake_delay(int ms) {
  pthread_mutex_lock(&fake.lock);
  fake.delay_ms = ms;
  pthread_mutex_unlock(&fake.lock);
}

static int fake_start(void) {
  if (load_vectors() != 0) return -1;
  fake.head = fake.tail = 0;
  fake.stop = 0;
  fake.delay_ms = 0;
  fake_fault(F_NONE, 0, 0, 0);
  fake_reset_counts();
  if (fetch_bridge_create(start, 8, &fake.bridge) != 0) return -1;
  for (int i = 0; i < WORKERS; i++) pthread_create(&fake.workers[i], NULL, worker, NULL);
  return 0;
}

static void fake_stop(void) {
  pthread_mutex_lock(&fake.lock);
  fake.stop = 1;
  pthread_cond_broadcast(&fake.cond);
  pthread_mutex_unlock(&fake.lock);
  for (int i = 0; i < WORKERS; i++) pthread_join(fake.workers[i], NULL);
  fetch_bridge_destroy(fake.bridge);
  fake.bridge = NULL;
}

static unsigned max_grain_count(void) {
  unsigned m = 0;
  for (int i = 0; i < 1024; i++) {
    unsigned v = atomic_load(&fake.grains[i]);
    if (v > m) m = v;
  }
  return m;
}

/* ---- a cache, the blob and the image over it ---- */

typedef struct rig {
  blob_cache *cache;
  obd_file *file; /* borrowed: the image owns it through the layer */
  obd_image *img;
} rig;

static int rig_open(rig *r, const char *dir, uint64_t cap, uint32_t page) {
  lsmt_ro *layer = NULL;
  memset(r, 0, sizeof *r);
  int rc = cache_open(dir, cap, page, &r->cache);
  if (rc < 0) return rc;
  rc = cache_open_blob(r->cache, DIGEST, blob_len, fake.bridge, BLOB_ID, &r->file);
  if (rc == 0) rc = obd_layer_open(r->file, 1, &layer);
  if (rc == 0) rc = obd_image_open(&layer, 1, NULL, &r->img);
  if (rc < 0) {
    cache_close(r->cache);
    memset(r, 0, sizeof *r);
  }
  return rc;
}

static void rig_close(rig *r) {
  obd_image_close(r->img);
  cache_close(r->cache);
  memset(r, 0, sizeof *r);
}

/* Reads the 12 MiB view in 1 MiB chunks; returns the first error, or 0
 * when every chunk matched view.raw. A chunk that reads without error must
 * match; *errors counts chunks that failed with `expect` (0: none allowed). */
static int read_view(obd_image *img, int expect, int *errors) {
  static _Thread_local uint8_t buf[MIB];
  int first = 0;
  for (uint64_t off = 0; off < VIEW_BYTES; off += MIB) {
    int64_t n = obd_image_pread(img, buf, MIB, off);
    if (n < 0) {
      if (n != expect || !errors) return (int)n;
      (*errors)++;
      if (!first) first = (int)n;
      continue;
    }
    if (n != MIB || memcmp(buf, view + off, MIB) != 0) return -1000;
  }
  return errors ? 0 : first;
}

static const char *dir_for(const char *name) {
  static char path[4200];
  snprintf(path, sizeof path, "%s", check_tmp(name));
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  if (system(cmd) != 0) return NULL;
  return path;
}

static uint64_t allocated_bytes(const char *dir) {
  char path[4300];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s.data", dir, HEX);
  return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* ---- cases ---- */

static void test_reads_view_fetching_each_page_once(void) {
  rig r;
  cache_stats s, t;
  CHECK(fake_start() == 0);
  const char *dir = dir_for("cache-view");
  int rc = rig_open(&r, dir, 1ull << 30, 0);
  int view_rc = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  uint64_t served_once = atomic_load(&fake.served);
  /* Cached now: a second pass fetches nothing and allocates nothing. */
  uint64_t allocs = obd_alloc_count();
  int again_rc = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  uint64_t allocs_after = obd_alloc_count();
  if (rc == 0) {
    cache_blob_stats(r.file, &s);
    cache_get_stats(r.cache, &t);
    rig_close(&r);
  }
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(view_rc, 0);
  CHECK_EQ_U64(again_rc, 0);
  CHECK_EQ_U64(atomic_load(&fake.served), served_once);
  CHECK_EQ_U64(allocs_after, allocs);
  CHECK(max_grain_count() == 1);
  CHECK(s.bytes_fetched <= blob_len);
  CHECK_EQ_U64(s.bytes_fetched, atomic_load(&fake.bytes));
  CHECK_EQ_U64(s.fetch_requests, served_once);
  CHECK_EQ_U64(s.fetch_errors, 0);
  CHECK(s.hits > 0 && s.misses > 0);
  CHECK_EQ_U64(s.cached_bytes, s.bytes_fetched);
  CHECK_EQ_U64(t.bytes_fetched, s.bytes_fetched);
  CHECK_EQ_U64(t.cached_bytes, s.cached_bytes);
}

static void test_reopen_fetches_nothing(void) {
  rig r;
  cache_stats s;
  blob_cache *c = NULL;
  CHECK(fake_start() == 0);
  const char *dir = dir_for("cache-reopen");
  int rc = rig_open(&r, dir, 1ull << 30, 0);
  int view_rc = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  uint64_t first_bytes = atomic_load(&fake.bytes);
  /* A new cache object finds the pages: accounted at open, never fetched. */
  int rc2 = cache_open(dir, 1ull << 30, 0, &c);
  if (rc2 == 0) {
    cache_get_stats(c, &s);
    cache_close(c);
  }
  fake_reset_counts();
  int rc3 = rig_open(&r, dir, 1ull << 30, 0);
  int view_rc2 = rc3 == 0 ? read_view(r.img, 0, NULL) : rc3;
  if (rc3 == 0) rig_close(&r);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(view_rc, 0);
  CHECK_EQ_U64(rc2, 0);
  CHECK_EQ_U64(s.cached_bytes, first_bytes);
  CHECK_EQ_U64(rc3, 0);
  CHECK_EQ_U64(view_rc2, 0);
  CHECK_EQ_U64(atomic_load(&fake.served), 0);
}

typedef struct reader_arg {
  obd_image *img;
  obd_file *file;
  int rc;
} reader_arg;

static void *view_reader(void *p) {
  reader_arg *a = p;
  a->rc = read_view(a->img, 0, NULL);
  return NULL;
}

static void *range_reader(void *p) {
  reader_arg *a = p;
  static _Thread_local uint8_t buf[2 * MIB];
  int64_t n = obd_file_pread(a->file, buf, sizeof buf, 100000);
  a->rc = n != (int64_t)sizeof buf ? -1 : memcmp(buf, blob + 100000, sizeof buf) != 0;
  return NULL;
}

static void test_concurrent_readers_fetch_each_page_once(void) {
  rig r;
  pthread_t t[8];
  reader_arg a[8];
  CHECK(fake_start() == 0);
  fake_delay(15); /* let the readers pile up on the same misses */
  int rc = cache_open(dir_for("cache-conc-raw"), 1ull << 30, 0, &r.cache);
  obd_file *f = NULL;
  if (rc == 0) rc = cache_open_blob(r.cache, DIGEST, blob_len, fake.bridge, BLOB_ID, &f);
  for (int i = 0; rc == 0 && i < 8; i++) {
    a[i] = (reader_arg){.file = f};
    pthread_create(&t[i], NULL, range_reader, &a[i]);
  }
  for (int i = 0; rc == 0 && i < 8; i++) pthread_join(t[i], NULL);
  unsigned raw_max = max_grain_count();
  obd_file_close(f);
  cache_close(r.cache);

  fake_reset_counts();
  int rc2 = rig_open(&r, dir_for("cache-conc-view"), 1ull << 30, 0);
  for (int i = 0; rc2 == 0 && i < 8; i++) {
    a[i] = (reader_arg){.img = r.img};
    pthread_create(&t[i], NULL, view_reader, &a[i]);
  }
  for (int i = 0; rc2 == 0 && i < 8; i++) pthread_join(t[i], NULL);
  if (rc2 == 0) rig_close(&r);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(raw_max, 1);
  CHECK_EQ_U64(rc2, 0);
  for (int i = 0; i < 8; i++) CHECK_EQ_U64(a[i].rc, 0);
  CHECK_EQ_U64(max_grain_count(), 1);
}

/* Reads the view chunk by chunk, checking usage after each chunk. */
static int read_view_capped(rig *r, uint64_t cap, const char *dir) {
  static uint8_t buf[MIB];
  cache_stats s;
  for (uint64_t off = 0; off < VIEW_BYTES; off += MIB) {
    int64_t n = obd_image_pread(r->img, buf, MIB, off);
    if (n != MIB) return n < 0 ? (int)n : -1;
    if (memcmp(buf, view + off, MIB) != 0) return -2;
    cache_get_stats(r->cache, &s);
    /* st_blocks also counts ext4's extent tree blocks of a fragmented file. */
    if (s.cached_bytes > cap || allocated_bytes(dir) > cap + 16 * KIB) return -3;
  }
  return 0;
}

static void test_cap_evicts_and_reads_stay_correct(void) {
  static const struct {
    uint64_t cap;
    uint32_t page;
  } cfgs[] = {{1 * MIB, 0}, {96 * KIB, 4096}, {512 * KIB, 64 * KIB}};
  CHECK(fake_start() == 0);
  int rcs[3][2];
  cache_stats s[3];
  for (int i = 0; i < 3; i++) {
    rig r;
    char name[32];
    snprintf(name, sizeof name, "cache-cap-%d", i);
    const char *dir = dir_for(name);
    rcs[i][0] = rig_open(&r, dir, cfgs[i].cap, cfgs[i].page);
    if (rcs[i][0] != 0) continue;
    rcs[i][0] = read_view_capped(&r, cfgs[i].cap, dir);
    rcs[i][1] = read_view_capped(&r, cfgs[i].cap, dir); /* and again, evicting */
    cache_get_stats(r.cache, &s[i]);
    rig_close(&r);
  }
  fake_stop();
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_U64(rcs[i][0], 0);
    CHECK_EQ_U64(rcs[i][1], 0);
    CHECK(s[i].evictions > 0);
    CHECK(s[i].cached_bytes <= cfgs[i].cap);
  }
}

static void test_failed_fetch_is_io_and_next_read_retries(void) {
  rig r;
  char detail[OBD_DETAIL_MAX] = "";
  CHECK(fake_start() == 0);
  int rc = rig_open(&r, dir_for("cache-fail"), 1ull << 30, 0);
  int errors = 0, short_errors = 0;
  fake_fault(F_FAIL, 1, 0, 0);
  int first = rc == 0 ? read_view(r.img, OBD_E_IO, &errors) : rc;
  /* The detail of a failure, from a read of a page known to be missing. */
  fake_fault(F_FAIL, 1, 0, 0);
  if (rc == 0) {
    uint8_t one[4096];
    obd_file_invalidate(r.file, 0, blob_len);
    int64_t n = obd_file_pread(r.file, one, sizeof one, 2 * MIB);
    if (n == OBD_E_IO) snprintf(detail, sizeof detail, "%s", obd_last_error());
  }
  fake_fault(F_SHORT, 1, 0, 0);
  int second = rc == 0 ? read_view(r.img, OBD_E_IO, &short_errors) : rc;
  fake_fault(F_NONE, 0, 0, 0);
  int healed = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  cache_stats s;
  if (rc == 0) {
    cache_blob_stats(r.file, &s);
    rig_close(&r);
  }
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(first, 0);
  CHECK_EQ_U64(errors, 1);
  CHECK(strstr(detail, DIGEST) && strstr(detail, "fetch of blob 1 [") &&
        strstr(detail, "injected failure"));
  CHECK_EQ_U64(second, 0);
  CHECK_EQ_U64(short_errors, 1);
  CHECK_EQ_U64(healed, 0);
  CHECK(s.fetch_errors >= 3);
}

static void test_corrupt_pages_are_refetched_then_fail_then_heal(void) {
  rig r;
  const uint64_t lo = MIB, hi = MIB + CACHE_DEFAULT_PAGE_SIZE; /* page 4 */
  CHECK(fake_start() == 0);
  int rc = rig_open(&r, dir_for("cache-corrupt"), 1ull << 30, 0);
  /* Bad twice, then good: the ZFile reader's re-reads hide it. */
  fake_fault(F_CORRUPT, 2, lo, hi);
  int transient = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  unsigned transient_fetches = atomic_load(&fake.grains[lo / GRAIN]);
  /* Bad for good: OBD_E_CORRUPT after 1 + 3 reads, never wrong bytes. */
  if (rc == 0) obd_file_invalidate(r.file, 0, blob_len);
  fake_reset_counts();
  fake_fault(F_CORRUPT, -1, lo, hi);
  int errors = 0;
  int persistent = rc == 0 ? read_view(r.img, OBD_E_CORRUPT, &errors) : rc;
  unsigned persistent_fetches = atomic_load(&fake.grains[lo / GRAIN]);
  /* The bad page was evicted: once the source is good, reads heal. */
  fake_fault(F_NONE, 0, 0, 0);
  int healed = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(transient, 0);
  CHECK_EQ_U64(transient_fetches, 3);
  CHECK_EQ_U64(persistent, 0);
  CHECK(errors >= 1);
  CHECK_EQ_U64(persistent_fetches, 4 * (unsigned)errors);
  CHECK_EQ_U64(healed, 0);
}

static void test_timeout_is_io_within_the_timeout(void) {
  rig r;
  uint8_t buf[4096];
  CHECK(fake_start() == 0);
  int rc = rig_open(&r, dir_for("cache-timeout"), 1ull << 30, 0);
  int64_t n = 0;
  double took = 0;
  char detail[OBD_DETAIL_MAX] = "";
  if (rc == 0) {
    cache_set_fetch_timeout(r.cache, 100);
    fake_delay(400);
    double t0 = now_ms();
    n = obd_file_pread(r.file, buf, 4096, 2 * MIB); /* a page not fetched yet */
    took = now_ms() - t0;
    snprintf(detail, sizeof detail, "%s", obd_last_error());
    fake_delay(0);
    cache_set_fetch_timeout(r.cache, 10000);
  }
  int healed = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  fake_stop(); /* joins the workers, whose late completes were ignored */
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(n, ERR(OBD_E_IO));
  CHECK(took >= 95 && took < 350);
  CHECK(strstr(detail, DIGEST) && strstr(detail, "timed out after 100 ms"));
  CHECK_EQ_U64(healed, 0);
}

static void test_open_survives_allocation_failures(void) {
  rig r;
  CHECK(fake_start() == 0);
  const char *dir = dir_for("cache-nomem");
  int failures = 0, rc = 0;
  for (int64_t n = 0; n < 10000; n++) {
    obd_alloc_fail_after(n);
    rc = rig_open(&r, dir, 1ull << 30, 0);
    obd_alloc_fail_after(-1);
    if (rc == 0) break;
    if (rc != OBD_E_NOMEM) break;
    failures++;
  }
  int view_rc = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(view_rc, 0);
  CHECK(failures >= 5);
}

static void write_at(const char *path, uint64_t off, const void *buf, size_t n) {
  FILE *fp = fopen(path, "r+b");
  if (!fp) return;
  fseek(fp, (long)off, SEEK_SET);
  fwrite(buf, 1, n, fp);
  fclose(fp);
}

static void test_mismatched_bitmap_resets_the_blob(void) {
  rig r;
  char path[4300];
  CHECK(fake_start() == 0);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", dir_for("cache-reset"));
  int rc = rig_open(&r, dir, 1ull << 30, 0);
  int a = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  /* Another page size: the old files cannot be used. */
  fake_reset_counts();
  int rc2 = rig_open(&r, dir, 1ull << 30, 64 * KIB);
  int b = rc2 == 0 ? read_view(r.img, 0, NULL) : rc2;
  if (rc2 == 0) rig_close(&r);
  uint64_t refetched = atomic_load(&fake.served);
  /* A damaged header: reset again. */
  snprintf(path, sizeof path, "%s/%s.bitmap", dir, HEX);
  write_at(path, 0, "garbage!", 8);
  fake_reset_counts();
  int rc3 = rig_open(&r, dir, 1ull << 30, 64 * KIB);
  int c = rc3 == 0 ? read_view(r.img, 0, NULL) : rc3;
  if (rc3 == 0) rig_close(&r);
  uint64_t refetched2 = atomic_load(&fake.served);
  /* An orphan data file is deleted at open. */
  snprintf(path, sizeof path, "%s/%s.data", dir, HEX);
  char bitmap[4300];
  snprintf(bitmap, sizeof bitmap, "%s/%s.bitmap", dir, HEX);
  remove(bitmap);
  blob_cache *cache = NULL;
  int rc4 = cache_open(dir, 1ull << 30, 64 * KIB, &cache);
  struct stat st;
  int orphan_left = stat(path, &st) == 0;
  cache_close(cache);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(a, 0);
  CHECK_EQ_U64(rc2, 0);
  CHECK_EQ_U64(b, 0);
  CHECK(refetched > 0);
  CHECK_EQ_U64(rc3, 0);
  CHECK_EQ_U64(c, 0);
  CHECK(refetched2 > 0);
  CHECK_EQ_U64(rc4, 0);
  CHECK(!orphan_left);
}

static void test_dormant_blobs_are_evicted_first(void) {
  rig r;
  blob_cache *c = NULL;
  cache_stats s = {0};
  CHECK(fake_start() == 0);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", dir_for("cache-dormant"));
  int rc = rig_open(&r, dir, 1ull << 30, 0);
  int a = rc == 0 ? read_view(r.img, 0, NULL) : rc;
  if (rc == 0) rig_close(&r);
  /* Reopened with a cap below what is cached: the closed blob goes. */
  int rc2 = cache_open(dir, 256 * KIB, 0, &c);
  if (rc2 == 0) {
    cache_get_stats(c, &s);
    cache_close(c);
  }
  uint64_t left = allocated_bytes(dir);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(a, 0);
  CHECK_EQ_U64(rc2, 0);
  CHECK_EQ_U64(s.cached_bytes, 0);
  CHECK_EQ_U64(left, 0);
}

static void test_shared_handles_and_invalidate(void) {
  blob_cache *c = NULL;
  obd_file *f1 = NULL, *f2 = NULL, *bad = NULL, *plain = NULL, *win = NULL;
  static uint8_t b1[MIB], b2[MIB];
  cache_stats before, after;
  CHECK(fake_start() == 0);
  int rc = cache_open(dir_for("cache-shared"), 1ull << 30, 0, &c);
  if (rc == 0) rc = cache_open_blob(c, DIGEST, blob_len, fake.bridge, BLOB_ID, &f1);
  if (rc == 0) rc = cache_open_blob(c, DIGEST, blob_len, fake.bridge, BLOB_ID, &f2);
  int mismatch = rc == 0 ? cache_open_blob(c, DIGEST, blob_len + 1, fake.bridge, 1, &bad) : 0;
  int baddigest = rc == 0 ? cache_open_blob(c, "sha256:abc", 10, fake.bridge, 1, &bad) : 0;
  int64_t n1 = rc == 0 ? obd_file_pread(f1, b1, MIB, 0) : rc;
  int64_t n2 = rc == 0 ? obd_file_pread(f2, b2, MIB, 0) : rc;
  uint64_t served = atomic_load(&fake.served);
  int inv = 0;
  if (rc == 0) {
    cache_blob_stats(f1, &before);
    inv = obd_file_invalidate(f2, 300 * KIB, 1); /* drops page 1 */
    cache_blob_stats(f1, &after);
  }
  int plain_inv = -1, not_cache = 0;
  if (obd_file_open_path(check_vector("overlaybd.commit"), &plain) == 0) {
    cache_stats dummy;
    not_cache = cache_blob_stats(plain, &dummy);
    if (obd_file_window(plain, 1, 512, 4096, &win) == 0) {
      plain_inv = obd_file_invalidate(win, 0, 4096);
      obd_file_close(win);
    } else {
      obd_file_close(plain);
    }
  }
  obd_file_close(f1);
  obd_file_close(f2);
  cache_close(c);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(mismatch, ERR(OBD_E_INVAL));
  CHECK_EQ_U64(baddigest, ERR(OBD_E_INVAL));
  CHECK_EQ_U64(n1, MIB);
  CHECK_EQ_U64(n2, MIB);
  CHECK(memcmp(b1, blob, MIB) == 0 && memcmp(b2, blob, MIB) == 0);
  CHECK_EQ_U64(served, 1); /* one coalesced request of 4 pages */
  CHECK_EQ_U64(inv, 1);
  CHECK_EQ_U64(before.cached_bytes - after.cached_bytes, CACHE_DEFAULT_PAGE_SIZE);
  CHECK_EQ_U64(plain_inv, 0);
  CHECK_EQ_U64(not_cache, ERR(OBD_E_INVAL));
}

static void test_bad_arguments_and_dir_lock(void) {
  blob_cache *c = NULL, *c2 = NULL;
  const char *dir = dir_for("cache-args");
  CHECK_EQ_U64(cache_open(dir, 0, 0, &c), ERR(OBD_E_INVAL));
  CHECK_EQ_U64(cache_open(dir, 1 << 20, 1000, &c), ERR(OBD_E_INVAL));
  CHECK_EQ_U64(cache_open(dir, 1 << 20, 2048, &c), ERR(OBD_E_INVAL));
  CHECK_EQ_U64(cache_open(dir, 1 << 20, 8u << 20, &c), ERR(OBD_E_INVAL));
  CHECK(cache_open(dir, 1 << 20, 0, &c) == 0);
  int second = cache_open(dir, 1 << 20, 0, &c2);
  char detail[OBD_DETAIL_MAX];
  snprintf(detail, sizeof detail, "%s", obd_last_error());
  cache_close(c);
  int third = cache_open(dir, 1 << 20, 0, &c2);
  cache_close(third == 0 ? c2 : NULL);
  cache_close(NULL);
  CHECK_EQ_U64(second, ERR(OBD_E_IO));
  CHECK(strstr(detail, "in use"));
  CHECK_EQ_U64(third, 0);
}

int main(void) {
  static const check_case cases[] = {
      {"reads the view, fetching each page once", test_reads_view_fetching_each_page_once},
      {"reopen fetches nothing", test_reopen_fetches_nothing},
      {"concurrent readers fetch each page once", test_concurrent_readers_fetch_each_page_once},
      {"cap evicts and reads stay correct", test_cap_evicts_and_reads_stay_correct},
      {"failed fetch is OBD_E_IO and the next read retries",
       test_failed_fetch_is_io_and_next_read_retries},
      {"corrupt pages are refetched, then fail, then heal",
       test_corrupt_pages_are_refetched_then_fail_then_heal},
      {"timeout is OBD_E_IO within the timeout", test_timeout_is_io_within_the_timeout},
      {"open survives allocation failures", test_open_survives_allocation_failures},
      {"mismatched bitmap resets the blob", test_mismatched_bitmap_resets_the_blob},
      {"dormant blobs are evicted first", test_dormant_blobs_are_evicted_first},
      {"shared handles and invalidate", test_shared_handles_and_invalidate},
      {"bad arguments and the directory lock", test_bad_arguments_and_dir_lock},
  };
  int rc = check_main(cases, sizeof cases / sizeof cases[0]);
  free(blob);
  free(view);
  return rc;
}
