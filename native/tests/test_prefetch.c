/* Trace replay and list prefetch (spec §8.4, §8.5) on layer blobs read
 * through the real blob cache, whose fetch bridge is served by worker
 * threads standing in for the TypeScript side (with an optional delay per
 * fetch). Checks that replayed bytes turn later demand reads into cache
 * hits, that bad records are counted and skipped, that stop is prompt,
 * that demand reads overtake a busy replay, and that list paths become the
 * device ranges of the files' data. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "alloc.h"
#include "cache.h"
#include "check.h"
#include "fetch.h"
#include "image.h"
#include "layer.h"
#include "prefetch.h"
#include "trace.h"

#define MIB (1024u * 1024u)
#define SERVERS 8
#define ERR(code) ((uint64_t)(int64_t)(code))
#define COMMIT_DIGEST "sha256:854cbd1b4e31d81accc7d38358f20af6d4d5f4fd8cbfecb5aa7eda8b9a590489"
#define HELLO_PATH \
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"
#define HELLO_DIGEST "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"
#define HELLO_SIZE 13256u /* bytes of /hello in that image */

/* ---- the fetch owner: serves `blob` after `delay_ms` ---- */

typedef struct request {
  uint64_t id, off, len;
  uint8_t *buf;
} request;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  request q[1024];
  size_t head, tail;
  int stop, delay_ms;
  const uint8_t *blob;
  size_t blob_len;
  fetch_bridge *bridge;
  atomic_uint_fast64_t served;
  pthread_t threads[SERVERS];
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *serve(void *arg) {
  (void)arg;
  pthread_mutex_lock(&fake.lock);
  for (;;) {
    while (fake.head == fake.tail && !fake.stop) pthread_cond_wait(&fake.cond, &fake.lock);
    if (fake.head == fake.tail) break;
    request r = fake.q[fake.head++ % 1024];
    int delay = fake.delay_ms;
    pthread_mutex_unlock(&fake.lock);
    if (delay) sleep_ms(delay);
    atomic_fetch_add(&fake.served, 1);
    if (r.off > fake.blob_len || r.len > fake.blob_len - r.off) {
      fetch_bridge_complete(fake.bridge, r.id, -1, "past the end");
    } else {
      memcpy(r.buf, fake.blob + r.off, r.len);
      fetch_bridge_complete(fake.bridge, r.id, (int64_t)r.len, NULL);
    }
    pthread_mutex_lock(&fake.lock);
  }
  pthread_mutex_unlock(&fake.lock);
  return NULL;
}

static void start_fetch(uint64_t id, uint32_t blob_id, uint64_t off, uint64_t len, void *buf) {
  (void)blob_id;
  pthread_mutex_lock(&fake.lock);
  fake.q[fake.tail++ % 1024] = (request){id, off, len, buf};
  pthread_cond_signal(&fake.cond);
  pthread_mutex_unlock(&fake.lock);
}

static int fake_start(const uint8_t *blob, size_t len, uint32_t slots, int delay_ms) {
  fake.head = fake.tail = 0;
  fake.stop = 0;
  fake.delay_ms = delay_ms;
  fake.blob = blob;
  fake.blob_len = len;
  atomic_store(&fake.served, 0);
  if (fetch_bridge_create(start_fetch, slots, &fake.bridge) != 0) return -1;
  for (int i = 0; i < SERVERS; i++) pthread_create(&fake.threads[i], NULL, serve, NULL);
  return 0;
}

static void fake_stop(void) {
  pthread_mutex_lock(&fake.lock);
  fake.stop = 1;
  pthread_cond_broadcast(&fake.cond);
  pthread_mutex_unlock(&fake.lock);
  for (int i = 0; i < SERVERS; i++) pthread_join(fake.threads[i], NULL);
  fetch_bridge_destroy(fake.bridge);
  fake.bridge = NULL;
}

/* ---- a cache and an image of one remote layer ---- */

typedef struct rig {
  blob_cache *cache;
  obd_image *img;
  obd_trace_recorder *rec; /* when recording */
} rig;

static const char *fresh_dir(const char *name) {
  static char path[4200];
  char cmd[4300];
  snprintf(path, sizeof path, "%s", check_tmp(name));
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  return system(cmd) == 0 ? path : NULL;
}

static int rig_open(rig *r, const char *name, const char *digest, uint32_t page, int record) {
  obd_file *f = NULL;
  lsmt_ro *layer = NULL;
  memset(r, 0, sizeof *r);
  int rc = cache_open(fresh_dir(name), 1ull << 30, page, &r->cache);
  if (rc < 0) return rc;
  if (record) rc = obd_trace_recorder_create(&r->rec);
  if (rc == 0) rc = cache_open_blob(r->cache, digest, fake.blob_len, fake.bridge, 1, &f);
  if (rc == 0)
    rc = record ? obd_trace_layer_open(f, 1, r->rec, 0, &layer) : obd_layer_open(f, 1, &layer);
  if (rc == 0) rc = obd_image_open(&layer, 1, NULL, &r->img);
  return rc;
}

static void rig_close(rig *r) {
  obd_image_close(r->img);
  cache_close(r->cache);
  obd_trace_recorder_release(r->rec);
  memset(r, 0, sizeof *r);
}

static uint8_t *commit_blob, *view;
static size_t commit_len, view_len;

static int load(void) {
  if (!commit_blob) commit_blob = check_slurp(check_vector("overlaybd.commit"), &commit_len);
  if (!view) view = check_slurp(check_vector("view.raw"), &view_len);
  return commit_blob && view ? 0 : -1;
}

/* Reads [off, off + n) of the image and compares it with view.raw. */
static int read_matches(obd_image *img, uint64_t off, size_t n) {
  uint8_t *buf = malloc(n);
  int ok = obd_image_pread(img, buf, n, off) == (int64_t)n && memcmp(buf, view + off, n) == 0;
  free(buf);
  return ok;
}

/* ---- trace replay ---- */

static void test_replay_turns_later_reads_into_hits(void) {
  rig a, b;
  CHECK(load() == 0);
  CHECK(fake_start(commit_blob, commit_len, 16, 0) == 0);
  /* Record: the image opened (header, index) and two reads. */
  int rc = rig_open(&a, "replay-record", COMMIT_DIGEST, 4096, 1);
  int read_ok = rc == 0 && read_matches(a.img, 8 * MIB, MIB) && read_matches(a.img, 0, 8192);
  uint8_t *trace = NULL;
  int64_t len = 0;
  if (rc == 0) {
    obd_trace_recorder_stop(a.rec);
    len = obd_trace_recorder_encode(a.rec, NULL, 0);
    trace = malloc((size_t)len);
    obd_trace_recorder_encode(a.rec, trace, (size_t)len);
  }
  rig_close(&a);
  /* Replay on a new host: an empty cache. */
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  cache_stats before, after;
  if (rc == 0) rc = rig_open(&b, "replay-play", COMMIT_DIGEST, 4096, 0);
  if (rc == 0) rc = obd_prefetch_start_trace(b.img, trace, (size_t)len, 4, &p);
  int done = rc == 0 && obd_prefetch_wait(p, 10000);
  if (p) obd_prefetch_get_stats(p, &st);
  obd_prefetch_close(p);
  uint64_t served = atomic_load(&fake.served);
  if (rc == 0) cache_get_stats(b.cache, &before);
  int again = rc == 0 && read_matches(b.img, 8 * MIB, MIB) && read_matches(b.img, 0, 8192);
  if (rc == 0) cache_get_stats(b.cache, &after);
  uint64_t served_after = atomic_load(&fake.served);
  if (rc == 0) rig_close(&b);
  fake_stop();
  free(trace);
  CHECK_EQ_U64(rc, 0);
  CHECK(read_ok);
  CHECK(done);
  CHECK(st.done == 1);
  CHECK(st.records > 2);
  CHECK_EQ_U64(st.replayed, st.records);
  CHECK_EQ_U64(st.failures, 0);
  CHECK(st.bytes >= MIB + 8192);
  CHECK(again);
  CHECK_EQ_U64(served_after, served);           /* nothing fetched on demand */
  CHECK_EQ_U64(after.misses, before.misses);
  CHECK(after.prefetch_hits > before.prefetch_hits);
  CHECK(before.prefetch_bytes > 0);
}

static void test_bad_records_are_counted_and_skipped(void) {
  rig r;
  CHECK(load() == 0);
  CHECK(fake_start(commit_blob, commit_len, 16, 0) == 0);
  const obd_trace_record recs[] = {
      {OBD_TRACE_OP_READ, 0, 4096, 4096},        /* fine */
      {OBD_TRACE_OP_READ, 5, 4096, 0},           /* no layer 5 */
      {OBD_TRACE_OP_READ, 0, 4096, -4096},       /* negative offset */
      {OBD_TRACE_OP_WRITE, 0, 4096, 0},          /* not a read */
      {OBD_TRACE_OP_READ, 0, 4096, 1ll << 40},   /* past the end: reads nothing */
      {OBD_TRACE_OP_READ, 0, 3 * MIB + 5, 8192}, /* several slices, odd size */
  };
  uint8_t trace[24 + 6 * 24];
  CHECK_EQ_U64(obd_trace_encode(recs, 6, trace, sizeof trace), sizeof trace);
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  int rc = rig_open(&r, "replay-bad", COMMIT_DIGEST, 0, 0);
  if (rc == 0) rc = obd_prefetch_start_trace(r.img, trace, sizeof trace, 2, &p);
  if (rc == 0) obd_prefetch_wait(p, 10000);
  if (p) obd_prefetch_get_stats(p, &st);
  obd_prefetch_close(p);
  /* A damaged trace starts nothing. */
  trace[30] ^= 1;
  obd_prefetch *q = NULL;
  int bad = rc == 0 ? obd_prefetch_start_trace(r.img, trace, sizeof trace, 2, &q) : 0;
  if (rc == 0) rig_close(&r);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(st.records, 6);
  CHECK_EQ_U64(st.replayed, 3);
  CHECK_EQ_U64(st.failures, 2);
  CHECK_EQ_U64(st.skipped, 1);
  CHECK_EQ_U64(st.bytes, 4096 + 3 * MIB + 5);
  CHECK_EQ_U64(bad, ERR(OBD_E_CORRUPT));
  CHECK(q == NULL);
}

/* Records that each need their own fetch: one 4 KiB read every 64 KiB of
 * the LSMT file, in 4 KiB cache pages. */
static uint8_t *strided_trace(obd_image *img, size_t *len, size_t *count) {
  uint64_t size = obd_file_size(obd_image_lower_file(img, 0));
  size_t n = (size_t)(size / 65536);
  obd_trace_record *recs = calloc(n, sizeof *recs);
  for (size_t i = 0; i < n; i++)
    recs[i] = (obd_trace_record){OBD_TRACE_OP_READ, 0, 4096, (int64_t)i * 65536};
  *len = 24 + n * 24;
  uint8_t *t = malloc(*len);
  obd_trace_encode(recs, n, t, *len);
  free(recs);
  *count = n;
  return t;
}

static void test_stop_is_prompt(void) {
  rig r;
  CHECK(load() == 0);
  CHECK(fake_start(commit_blob, commit_len, 16, 100) == 0);
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  size_t len = 0, n = 0;
  uint8_t *trace = NULL;
  double closed_in = 0;
  int rc = rig_open(&r, "replay-stop", COMMIT_DIGEST, 4096, 0);
  if (rc == 0) trace = strided_trace(r.img, &len, &n);
  if (rc == 0) rc = obd_prefetch_start_trace(r.img, trace, len, 4, &p);
  if (rc == 0) {
    sleep_ms(250);
    double t0 = now_ms();
    obd_prefetch_get_stats(p, &st);
    obd_prefetch_close(p);
    closed_in = now_ms() - t0;
    rig_close(&r);
  }
  fake_stop();
  free(trace);
  CHECK_EQ_U64(rc, 0);
  CHECK(n > 40);
  CHECK(st.replayed < n);
  CHECK(closed_in < 400); /* in-flight fetches finish (100 ms), nothing new starts */
}

typedef struct demand_arg {
  obd_image *img;
  uint64_t off;
  double ms;
  int ok;
} demand_arg;

static void *demand(void *arg) {
  demand_arg *d = arg;
  double t0 = now_ms();
  d->ok = read_matches(d->img, d->off, 4096);
  d->ms = now_ms() - t0;
  return NULL;
}

/* A replay with more workers than fetch slots keeps every slot it may
 * take busy; a demand read must still get one at once and finish in about
 * one fetch time, and the workers must have held back for it. */
static void test_demand_reads_overtake_a_busy_replay(void) {
  rig r;
  const int delay = 60;
  CHECK(load() == 0);
  CHECK(fake_start(commit_blob, commit_len, 8, delay) == 0);
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  size_t len = 0, n = 0;
  uint8_t *trace = NULL;
  demand_arg d[3];
  int rc = rig_open(&r, "replay-demand", COMMIT_DIGEST, 4096, 0);
  if (rc == 0) trace = strided_trace(r.img, &len, &n);
  if (rc == 0) rc = obd_prefetch_start_trace(r.img, trace, len, 16, &p);
  if (rc == 0) {
    sleep_ms(3 * delay);
    /* Data the replay reaches last: the top of the 12 MiB view. */
    for (int i = 0; i < 3; i++) {
      d[i] = (demand_arg){r.img, 11 * MIB + (uint64_t)i * 256 * 1024, 0, 0};
      pthread_t t;
      pthread_create(&t, NULL, demand, &d[i]);
      pthread_join(t, NULL);
    }
    obd_prefetch_get_stats(p, &st);
    obd_prefetch_close(p);
    rig_close(&r);
  }
  fake_stop();
  free(trace);
  CHECK_EQ_U64(rc, 0);
  printf("  demand read latency with a busy replay: %.0f %.0f %.0f ms (fetch %d ms)\n",
         d[0].ms, d[1].ms, d[2].ms, delay);
  for (int i = 0; i < 3; i++) {
    CHECK(d[i].ok);
    CHECK(d[i].ms < 2.5 * delay);
  }
  CHECK(st.yield_ns > 0);
  CHECK(st.replayed < n); /* still busy when the demand reads came */
}

/* ---- list prefetch ---- */

static int open_hello(obd_image **img) {
  lsmt_ro *layer = NULL;
  OBD_TRY(obd_layer_open_path(check_vector(HELLO_PATH), &layer));
  return obd_image_open(&layer, 1, NULL, img);
}

static void test_list_resolves_a_file_to_its_data(void) {
  obd_image *img = NULL;
  obd_trace_record *recs = NULL;
  size_t n = 0;
  uint64_t unresolved = 9;
  CHECK(open_hello(&img) == 0);
  static const char one[] = "/hello\0";
  int rc = obd_prefetch_list_resolve(img, one, sizeof one - 1, &recs, &n, &unresolved);
  uint64_t total = 0;
  int aligned = 1;
  for (size_t i = 0; i < n; i++) {
    total += recs[i].count;
    aligned = aligned && recs[i].op == OBD_TRACE_OP_READ && recs[i].layer_index == 0 &&
              recs[i].offset % 4096 == 0 && recs[i].count % 512 == 0 &&
              recs[i].count <= OBD_PREFETCH_SLICE &&
              (uint64_t)recs[i].offset + recs[i].count <= obd_image_size(img);
  }
  uint8_t head[512];
  int elf = n > 0 && obd_image_pread(img, head, 512, (uint64_t)recs[0].offset) == 512 &&
            memcmp(head, "\x7f" "ELF", 4) == 0;
  obd_free(recs);
  /* A directory stands for the files below it; unknown paths are counted. */
  static const char dir[] = "/\0/nope\0/hello/\0\0";
  uint64_t total_dir = 0;
  int rc2 = obd_prefetch_list_resolve(img, dir, sizeof dir - 1, &recs, &n, &unresolved);
  for (size_t i = 0; i < n; i++) total_dir += recs[i].count;
  obd_free(recs);
  obd_image_close(img);
  CHECK_EQ_U64(rc, 0);
  CHECK(aligned);
  CHECK_EQ_U64(total, (HELLO_SIZE + 511) / 512 * 512); /* §8.5: size rounded up to 512 */
  CHECK(elf);
  CHECK_EQ_U64(rc2, 0);
  CHECK_EQ_U64(total_dir, total);
  CHECK_EQ_U64(unresolved, 2);
}

static void test_list_on_an_image_without_ext4_fails_quietly(void) {
  lsmt_ro *layer = NULL;
  obd_image *img = NULL;
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  obd_trace_record *recs = NULL;
  size_t n = 0;
  uint64_t unresolved = 0;
  CHECK(obd_layer_open_path(check_vector("layer.lsmt"), &layer) == 0);
  CHECK(obd_image_open(&layer, 1, NULL, &img) == 0);
  int rc = obd_prefetch_list_resolve(img, "/a\0", 3, &recs, &n, &unresolved);
  int started = obd_prefetch_start_list(img, "/a\0", 3, 4, &p);
  if (started == 0) {
    obd_prefetch_wait(p, 10000);
    obd_prefetch_get_stats(p, &st);
    obd_prefetch_close(p);
  }
  int unterminated = obd_prefetch_start_list(img, "/a", 2, 4, &p);
  obd_image_close(img);
  CHECK_EQ_U64(rc, ERR(OBD_E_FORMAT));
  CHECK_EQ_U64(started, 0);
  CHECK_EQ_U64(st.done, 1);
  CHECK_EQ_U64(st.records, 0);
  CHECK_EQ_U64(st.failures, 1);
  CHECK_EQ_U64(unterminated, ERR(OBD_E_INVAL));
}

static void test_list_prefetch_fills_the_cache_for_the_file(void) {
  rig r;
  size_t blob_len = 0;
  uint8_t *blob = check_slurp(check_vector(HELLO_PATH), &blob_len);
  CHECK(blob != NULL);
  CHECK(fake_start(blob, blob_len, 16, 0) == 0);
  obd_prefetch *p = NULL;
  obd_prefetch_stats st;
  obd_trace_record *recs = NULL;
  size_t n = 0;
  uint64_t unresolved = 0;
  cache_stats before, after;
  static const char list[] = "/hello\0";
  int rc = rig_open(&r, "list-cache", HELLO_DIGEST, 4096, 0);
  if (rc == 0) rc = obd_prefetch_start_list(r.img, list, sizeof list - 1, 4, &p);
  if (rc == 0) obd_prefetch_wait(p, 10000);
  if (p) obd_prefetch_get_stats(p, &st);
  obd_prefetch_close(p);
  /* The file's data now reads without a fetch. */
  if (rc == 0) rc = obd_prefetch_list_resolve(r.img, list, sizeof list - 1, &recs, &n, &unresolved);
  uint64_t served = atomic_load(&fake.served);
  if (rc == 0) cache_get_stats(r.cache, &before);
  uint8_t *buf = malloc(OBD_PREFETCH_SLICE);
  int reads_ok = 1;
  for (size_t i = 0; rc == 0 && i < n; i++)
    reads_ok = reads_ok && obd_image_pread(r.img, buf, recs[i].count, (uint64_t)recs[i].offset) ==
                               (int64_t)recs[i].count;
  free(buf);
  obd_free(recs);
  if (rc == 0) cache_get_stats(r.cache, &after);
  uint64_t served_after = atomic_load(&fake.served);
  if (rc == 0) rig_close(&r);
  fake_stop();
  free(blob);
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(st.failures, 0);
  CHECK(st.records > 0);
  CHECK_EQ_U64(st.replayed, st.records);
  CHECK(reads_ok);
  CHECK_EQ_U64(served_after, served);
  CHECK_EQ_U64(after.misses, before.misses);
  CHECK(after.prefetch_hits > before.prefetch_hits);
}

int main(void) {
  static const check_case cases[] = {
      {"replay turns later reads into hits", test_replay_turns_later_reads_into_hits},
      {"bad records are counted and skipped", test_bad_records_are_counted_and_skipped},
      {"stop is prompt", test_stop_is_prompt},
      {"demand reads overtake a busy replay", test_demand_reads_overtake_a_busy_replay},
      {"list resolves a file to its data", test_list_resolves_a_file_to_its_data},
      {"list on an image without ext4 fails quietly",
       test_list_on_an_image_without_ext4_fails_quietly},
      {"list prefetch fills the cache for the file",
       test_list_prefetch_fills_the_cache_for_the_file},
  };
  int rc = check_main(cases, sizeof cases / sizeof cases[0]);
  free(commit_blob);
  free(view);
  return rc;
}
