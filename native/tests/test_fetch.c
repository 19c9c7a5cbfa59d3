/* Fetch bridge: requests served by worker threads standing in for the
 * TypeScript side, with failures, short results, timeouts and late
 * completions; slot exhaustion and destroy with requests pending. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "alloc.h"
#include "check.h"
#include "fetch.h"

enum fault { F_NONE, F_FAIL, F_SHORT, F_DELAY, F_NEVER, F_INLINE };

typedef struct request {
  uint64_t id;
  uint64_t off, len;
  uint8_t *buf;
} request;

/* The stand-in for the owner of the bridge. start() has no context pointer
 * (the FFI callback needs none), so this is global. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  request q[64];
  size_t head, tail;
  int stop;
  fetch_bridge *bridge;
  int fault;
  int delay_ms;
  request parked; /* an F_NEVER request, completed by the test itself */
  uint64_t last_id;
  atomic_int active, max_active;
  atomic_int served;
  pthread_t workers[4];
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* The blob: byte i is a function of i, so any range can be checked. */
static uint8_t blob_byte(uint64_t i) { return (uint8_t)(i * 2654435761u >> 13); }

static void fill(uint8_t *buf, uint64_t off, uint64_t len) {
  for (uint64_t i = 0; i < len; i++) buf[i] = blob_byte(off + i);
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

static void serve(const request *r, int fault) {
  int n = atomic_fetch_add(&fake.active, 1) + 1;
  int m = atomic_load(&fake.max_active);
  while (n > m && !atomic_compare_exchange_weak(&fake.max_active, &m, n)) {
  }
  if (fake.delay_ms) sleep_ms(fake.delay_ms);
  atomic_fetch_sub(&fake.active, 1);
  atomic_fetch_add(&fake.served, 1);
  switch (fault) {
  case F_FAIL:
    fetch_bridge_complete(fake.bridge, r->id, -1, "registry said 503");
    return;
  case F_SHORT:
    fill(r->buf, r->off, r->len / 2);
    fetch_bridge_complete(fake.bridge, r->id, (int64_t)(r->len / 2), NULL);
    return;
  default:
    fill(r->buf, r->off, r->len);
    fetch_bridge_complete(fake.bridge, r->id, (int64_t)r->len, NULL);
  }
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&fake.lock);
  for (;;) {
    while (fake.head == fake.tail && !fake.stop) pthread_cond_wait(&fake.cond, &fake.lock);
    if (fake.head == fake.tail) break;
    request r = fake.q[fake.head++ % 64];
    int fault = fake.fault;
    pthread_mutex_unlock(&fake.lock);
    serve(&r, fault);
    pthread_mutex_lock(&fake.lock);
  }
  pthread_mutex_unlock(&fake.lock);
  return NULL;
}

static void start(uint64_t id, uint32_t blob_id, uint64_t off, uint64_t len, void *buf) {
  (void)blob_id;
  request r = {id, off, len, buf};
  pthread_mutex_lock(&fake.lock);
  fake.last_id = id;
  if (fake.fault == F_NEVER) {
    fake.parked = r;
  } else if (fake.fault == F_INLINE) {
    pthread_mutex_unlock(&fake.lock);
    fill(buf, off, len);
    fetch_bridge_complete(fake.bridge, id, (int64_t)len, NULL);
    return;
  } else {
    fake.q[fake.tail++ % 64] = r;
    pthread_cond_signal(&fake.cond);
  }
  pthread_mutex_unlock(&fake.lock);
}

static int fake_start(uint32_t slots) {
  fake.head = fake.tail = 0;
  fake.stop = 0;
  fake.fault = F_NONE;
  fake.delay_ms = 0;
  atomic_store(&fake.active, 0);
  atomic_store(&fake.max_active, 0);
  atomic_store(&fake.served, 0);
  if (fetch_bridge_create(start, slots, &fake.bridge) != 0) return -1;
  for (int i = 0; i < 4; i++) pthread_create(&fake.workers[i], NULL, worker, NULL);
  return 0;
}

static void fake_stop(void) {
  pthread_mutex_lock(&fake.lock);
  fake.stop = 1;
  pthread_cond_broadcast(&fake.cond);
  pthread_mutex_unlock(&fake.lock);
  for (int i = 0; i < 4; i++) pthread_join(fake.workers[i], NULL);
  fetch_bridge_destroy(fake.bridge);
  fake.bridge = NULL;
}

static int matches(const uint8_t *buf, uint64_t off, uint64_t len) {
  for (uint64_t i = 0; i < len; i++)
    if (buf[i] != blob_byte(off + i)) return 0;
  return 1;
}

/* ---- cases ---- */

static void test_fetch_returns_bytes(void) {
  static uint8_t buf[FETCH_MAX_REQUEST];
  CHECK(fake_start(4) == 0);
  int64_t n = fetch_bridge_fetch(fake.bridge, 3, 12345, 4096, buf, 5000);
  int ok = n == 4096 && matches(buf, 12345, 4096);
  n = fetch_bridge_fetch(fake.bridge, 3, 1 << 20, FETCH_MAX_REQUEST, buf, 5000);
  ok = ok && n == FETCH_MAX_REQUEST && matches(buf, 1 << 20, FETCH_MAX_REQUEST);
  int64_t zero = fetch_bridge_fetch(fake.bridge, 3, 0, 0, buf, 5000);
  uint32_t pending = fetch_bridge_pending(fake.bridge);
  fake_stop();
  CHECK(ok);
  CHECK_EQ_U64(zero, 0);
  CHECK_EQ_U64(pending, 0);
}

static void test_start_may_complete_inline(void) {
  uint8_t buf[512];
  CHECK(fake_start(1) == 0);
  fake.fault = F_INLINE;
  int64_t a = fetch_bridge_fetch(fake.bridge, 1, 7, sizeof buf, buf, 1000);
  int64_t b = fetch_bridge_fetch(fake.bridge, 1, 9, sizeof buf, buf, 1000);
  fake_stop();
  CHECK_EQ_U64(a, sizeof buf);
  CHECK_EQ_U64(b, sizeof buf);
  CHECK(matches(buf, 9, sizeof buf));
}

static void test_failure_is_io_with_message(void) {
  uint8_t buf[4096];
  memset(buf, 0xAA, sizeof buf);
  CHECK(fake_start(2) == 0);
  fake.fault = F_FAIL;
  int64_t n = fetch_bridge_fetch(fake.bridge, 5, 8192, sizeof buf, buf, 5000);
  char detail[OBD_DETAIL_MAX];
  snprintf(detail, sizeof detail, "%s", obd_last_error());
  fake.fault = F_SHORT;
  int64_t s = fetch_bridge_fetch(fake.bridge, 5, 8192, sizeof buf, buf, 5000);
  char short_detail[OBD_DETAIL_MAX];
  snprintf(short_detail, sizeof short_detail, "%s", obd_last_error());
  fake.fault = F_NONE;
  int64_t ok = fetch_bridge_fetch(fake.bridge, 5, 8192, sizeof buf, buf, 5000);
  fake_stop();
  CHECK_EQ_U64(n, (uint64_t)(int64_t)OBD_E_IO);
  CHECK(strstr(detail, "blob 5 [8192,+4096)") && strstr(detail, "registry said 503"));
  CHECK_EQ_U64(s, (uint64_t)(int64_t)OBD_E_IO);
  CHECK(strstr(short_detail, "short result of 2048 bytes"));
  CHECK_EQ_U64(ok, sizeof buf); /* the failed slots were freed and reused */
  CHECK(matches(buf, 8192, sizeof buf));
}

static void test_timeout_then_late_complete_is_ignored(void) {
  uint8_t buf[4096];
  CHECK(fake_start(1) == 0);
  fake.fault = F_NEVER;
  double t0 = now_ms();
  int64_t n = fetch_bridge_fetch(fake.bridge, 2, 0, sizeof buf, buf, 80);
  double took = now_ms() - t0;
  char detail[OBD_DETAIL_MAX];
  snprintf(detail, sizeof detail, "%s", obd_last_error());
  uint32_t pending = fetch_bridge_pending(fake.bridge);
  /* The one slot is abandoned: a second fetch waits for it, then times out. */
  int64_t blocked = fetch_bridge_fetch(fake.bridge, 2, 0, sizeof buf, buf, 50);
  /* The owner finishes late: ignored, and the slot is free again. */
  fill(fake.parked.buf, fake.parked.off, fake.parked.len);
  int late = fetch_bridge_complete(fake.bridge, fake.parked.id, 4096, NULL);
  int again = fetch_bridge_complete(fake.bridge, fake.parked.id, 4096, NULL);
  uint64_t old_id = fake.parked.id;
  fake.fault = F_NONE;
  int64_t ok = fetch_bridge_fetch(fake.bridge, 2, 4096, sizeof buf, buf, 5000);
  uint64_t new_id = fake.last_id;
  fake_stop();
  CHECK_EQ_U64(n, (uint64_t)(int64_t)OBD_E_IO);
  CHECK(strstr(detail, "fetch of blob 2 [0,+4096) timed out after 80 ms"));
  CHECK(took >= 75 && took < 1000);
  CHECK_EQ_U64(pending, 1);
  CHECK_EQ_U64(blocked, (uint64_t)(int64_t)OBD_E_IO);
  CHECK_EQ_U64(late, 1);
  CHECK_EQ_U64(again, 1);
  CHECK_EQ_U64(ok, sizeof buf);
  CHECK(new_id > old_id);
  CHECK(matches(buf, 4096, sizeof buf));
}

typedef struct fetcher_arg {
  uint64_t off;
  int64_t rc;
  int ok;
} fetcher_arg;

static void *fetcher(void *p) {
  fetcher_arg *a = p;
  uint8_t buf[8192];
  a->rc = fetch_bridge_fetch(fake.bridge, 9, a->off, sizeof buf, buf, 10000);
  a->ok = a->rc == (int64_t)sizeof buf && matches(buf, a->off, sizeof buf);
  return NULL;
}

static void test_busy_slots_make_fetches_wait(void) {
  pthread_t t[8];
  fetcher_arg args[8];
  CHECK(fake_start(2) == 0);
  fake.delay_ms = 20;
  for (int i = 0; i < 8; i++) {
    args[i] = (fetcher_arg){.off = (uint64_t)i * 100000};
    pthread_create(&t[i], NULL, fetcher, &args[i]);
  }
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  int max_active = atomic_load(&fake.max_active);
  fake_stop();
  for (int i = 0; i < 8; i++) CHECK(args[i].ok);
  CHECK(max_active <= 2);
}

static void *blocked_fetcher(void *p) {
  fetcher_arg *a = p;
  uint8_t buf[4096];
  a->rc = fetch_bridge_fetch(fake.bridge, 1, 0, sizeof buf, buf, 0);
  return NULL;
}

static void test_destroy_fails_pending_requests(void) {
  pthread_t t;
  fetcher_arg a = {0};
  fetch_bridge *b;
  CHECK(fetch_bridge_create(start, 1, &b) == 0);
  fake.bridge = b;
  fake.fault = F_NEVER;
  fake.last_id = 0;
  pthread_create(&t, NULL, blocked_fetcher, &a);
  while (fetch_bridge_pending(b) == 0) sleep_ms(1);
  fetch_bridge_destroy(b); /* wakes the waiter, waits for it to leave */
  pthread_join(t, NULL);
  fake.bridge = NULL;
  fake.fault = F_NONE;
  CHECK_EQ_U64(a.rc, (uint64_t)(int64_t)OBD_E_IO);
}

static void test_bad_arguments(void) {
  fetch_bridge *b = NULL;
  uint8_t buf[16];
  CHECK_EQ_U64(fetch_bridge_create(start, 0, &b), (uint64_t)(int64_t)OBD_E_INVAL);
  CHECK_EQ_U64(fetch_bridge_create(NULL, 4, &b), (uint64_t)(int64_t)OBD_E_INVAL);
  CHECK_EQ_U64(fetch_bridge_create(start, FETCH_MAX_INFLIGHT + 1, &b),
               (uint64_t)(int64_t)OBD_E_INVAL);
  CHECK(fetch_bridge_create(start, 1, &b) == 0);
  int64_t big = fetch_bridge_fetch(b, 1, 0, FETCH_MAX_REQUEST + 1ull, buf, 10);
  int unknown = fetch_bridge_complete(b, 424242, 16, NULL);
  fetch_bridge_destroy(b);
  fetch_bridge_destroy(NULL);
  CHECK_EQ_U64(big, (uint64_t)(int64_t)OBD_E_INVAL);
  CHECK_EQ_U64(unknown, 1);
}

static void test_create_survives_allocation_failures(void) {
  int failures = 0;
  for (int64_t n = 0;; n++) {
    fetch_bridge *b = NULL;
    obd_alloc_fail_after(n);
    int rc = fetch_bridge_create(start, 3, &b);
    obd_alloc_fail_after(-1);
    if (rc == 0) {
      fetch_bridge_destroy(b);
      break;
    }
    CHECK_EQ_U64(rc, (uint64_t)(int64_t)OBD_E_NOMEM);
    failures++;
  }
  CHECK(failures >= 3); /* struct, slot table, slot buffers */
}

static void test_measure_times_each_round_trip(void) {
  uint64_t ns[100];
  memset(ns, 0, sizeof ns);
  CHECK(fake_start(2) == 0);
  int rc = fetch_bridge_measure(fake.bridge, 1, 4096, 100, ns);
  fake.fault = F_FAIL;
  int failed = fetch_bridge_measure(fake.bridge, 1, 4096, 3, ns);
  fake_stop();
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(failed, (uint64_t)(int64_t)OBD_E_IO);
  for (int i = 1; i < 100; i++) CHECK(ns[i] > 0);
}

int main(void) {
  static const check_case cases[] = {
      {"fetch returns the owner's bytes", test_fetch_returns_bytes},
      {"start may complete inline", test_start_may_complete_inline},
      {"failure and short result are OBD_E_IO", test_failure_is_io_with_message},
      {"timeout, then a late complete is ignored", test_timeout_then_late_complete_is_ignored},
      {"busy slots make fetches wait", test_busy_slots_make_fetches_wait},
      {"destroy fails pending requests", test_destroy_fails_pending_requests},
      {"bad arguments", test_bad_arguments},
      {"create survives allocation failures", test_create_survives_allocation_failures},
      {"measure times each round trip", test_measure_times_each_round_trip},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
