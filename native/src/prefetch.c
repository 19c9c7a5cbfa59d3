/* Trace replay and list prefetch workers (spec §8.4, §8.5); see prefetch.h.
 * Paths are resolved in prefetch_list.c. */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "io_priority.h"

struct obd_prefetch {
  obd_image *img;
  int merged;   /* list mode: records address the merged image */
  char *paths;  /* list mode, until resolved */
  size_t paths_len;
  uint32_t concurrency;
  pthread_t coordinator;
  /* Set by the coordinator before it starts the workers, fixed after: */
  obd_trace_record *recs;
  size_t n;
  pthread_t *workers;
  uint8_t *scratch; /* OBD_PREFETCH_READ bytes per worker */
  atomic_size_t next;
  atomic_int stop;
  atomic_uint_fast64_t records, replayed, bytes, failures, skipped, yield_ns;
  atomic_uint nworkers;
  atomic_uint reading; /* workers inside a pread now */
  /* done is guarded by lock and signalled on cond. */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
};

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct worker_arg {
  obd_prefetch *p;
  uint8_t *scratch;
} worker_arg;

/* Workers that may read while demand reads wait. */
static uint32_t demand_share(const obd_prefetch *p) {
  return p->concurrency / 4 ? p->concurrency / 4 : 1;
}

/* Takes one of the reading places: all of them while no demand read waits,
 * a quarter while one does. Waits in 1 ms steps, at most
 * OBD_PREFETCH_YIELD_MAX_MS, then reads anyway. */
static void admit(obd_prefetch *p) {
  uint64_t t0 = 0;
  for (uint32_t waited = 0;; waited++) {
    uint32_t limit = io_priority_demand_waiting() ? demand_share(p) : p->concurrency;
    unsigned cur = atomic_load(&p->reading);
    if (cur < limit && atomic_compare_exchange_strong(&p->reading, &cur, cur + 1)) break;
    if (waited >= OBD_PREFETCH_YIELD_MAX_MS || atomic_load(&p->stop)) {
      atomic_fetch_add(&p->reading, 1);
      break;
    }
    if (!t0) t0 = mono_ns();
    nanosleep(&(struct timespec){0, 1000000L}, NULL);
  }
  if (t0) atomic_fetch_add(&p->yield_ns, mono_ns() - t0);
}

/* Reads one record in slices, each admitted separately, so that a demand
 * read that starts waiting holds prefetch back within one slice. 0, or a
 * negative obd_err. */
static int replay_one(obd_prefetch *p, const obd_trace_record *r, uint8_t *scratch) {
  obd_file *f = NULL;
  if (r->offset < 0)
    return obd_fail(OBD_E_RANGE, "prefetch: record at negative offset %lld",
                    (long long)r->offset);
  if (!p->merged && !(f = obd_image_lower_file(p->img, r->layer_index)))
    return obd_fail(OBD_E_RANGE, "prefetch: record names layer %u of %zu", r->layer_index,
                    obd_image_lower_count(p->img));
  uint64_t off = (uint64_t)r->offset, left = r->count;
  while (left > 0 && !atomic_load(&p->stop)) {
    size_t n = left < OBD_PREFETCH_READ ? (size_t)left : OBD_PREFETCH_READ;
    admit(p);
    int64_t got = f ? obd_file_pread(f, scratch, n, off)
                    : obd_image_pread(p->img, scratch, n, off);
    atomic_fetch_sub(&p->reading, 1);
    if (got < 0) return (int)got;
    atomic_fetch_add(&p->bytes, (uint64_t)got);
    if ((size_t)got < n) break; /* the end of the file */
    off += n;
    left -= n;
  }
  return 0;
}

static void *worker(void *arg) {
  worker_arg *w = arg;
  obd_prefetch *p = w->p;
  io_priority_set_background(1);
  while (!atomic_load(&p->stop)) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) break;
    const obd_trace_record *r = &p->recs[i];
    if (r->op != OBD_TRACE_OP_READ) {
      atomic_fetch_add(&p->skipped, 1);
      continue;
    }
    if (replay_one(p, r, w->scratch) < 0) atomic_fetch_add(&p->failures, 1);
    else atomic_fetch_add(&p->replayed, 1);
  }
  return NULL;
}

/* Resolves the list (list mode), then runs the workers and waits for them.
 * Failing to allocate or start workers ends the replay early: prefetch is
 * an optimisation, so it gives up quietly (the stats show it). */
static void *coordinate(void *arg) {
  obd_prefetch *p = arg;
  io_priority_set_background(1);
  if (p->merged && !atomic_load(&p->stop)) {
    uint64_t unresolved = 0;
    if (obd_prefetch_list_resolve(p->img, p->paths, p->paths_len, &p->recs, &p->n,
                                  &unresolved) < 0)
      unresolved++;
    atomic_fetch_add(&p->failures, unresolved);
  }
  atomic_store(&p->records, p->n);
  uint32_t want = p->concurrency < p->n ? p->concurrency : (uint32_t)p->n;
  worker_arg *args = want ? obd_calloc(want, sizeof *args) : NULL;
  if (want) {
    p->workers = obd_calloc(want, sizeof *p->workers);
    p->scratch = obd_malloc((size_t)want * OBD_PREFETCH_READ);
  }
  uint32_t started = 0;
  if (args && p->workers && p->scratch) {
    for (; started < want; started++) {
      args[started] = (worker_arg){p, p->scratch + (size_t)started * OBD_PREFETCH_READ};
      if (pthread_create(&p->workers[started], NULL, worker, &args[started]) != 0) break;
    }
  }
  atomic_store(&p->nworkers, started);
  for (uint32_t i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
  obd_free(args);
  pthread_mutex_lock(&p->lock);
  p->done = 1;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void prefetch_free(obd_prefetch *p) {
  obd_free(p->recs);
  obd_free(p->paths);
  obd_free(p->workers);
  obd_free(p->scratch);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  obd_free(p);
}

static int cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) return -1;
  int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}

/* Makes p and starts its coordinator; takes recs/paths (obd_malloc'd),
 * freeing them on failure. */
static int launch(obd_image *img, int merged, obd_trace_record *recs, size_t n,
                  char *paths, size_t paths_len, uint32_t concurrency, obd_prefetch **out) {
  if (concurrency == 0) concurrency = OBD_PREFETCH_DEFAULT_CONCURRENCY;
  if (concurrency > OBD_PREFETCH_MAX_CONCURRENCY) concurrency = OBD_PREFETCH_MAX_CONCURRENCY;
  obd_prefetch *p = obd_calloc(1, sizeof *p);
  if (!p) {
    obd_free(recs);
    obd_free(paths);
    return obd_fail(OBD_E_NOMEM, "prefetch: state");
  }
  p->img = img;
  p->merged = merged;
  p->recs = recs;
  p->n = n;
  p->paths = paths;
  p->paths_len = paths_len;
  p->concurrency = concurrency;
  if (pthread_mutex_init(&p->lock, NULL) != 0) {
    obd_free(recs);
    obd_free(paths);
    obd_free(p);
    return obd_fail(OBD_E_NOMEM, "prefetch: lock");
  }
  if (cond_init_monotonic(&p->cond) != 0) {
    pthread_mutex_destroy(&p->lock);
    obd_free(recs);
    obd_free(paths);
    obd_free(p);
    return obd_fail(OBD_E_NOMEM, "prefetch: condition variable");
  }
  int e = pthread_create(&p->coordinator, NULL, coordinate, p);
  if (e != 0) {
    prefetch_free(p);
    return obd_fail(OBD_E_NOMEM, "prefetch: start thread: %s", strerror(e));
  }
  *out = p;
  return 0;
}

int obd_prefetch_start_trace(obd_image *img, const uint8_t *trace, size_t len,
                             uint32_t concurrency, obd_prefetch **out) {
  int64_t n = obd_trace_decode(trace, len, NULL, 0);
  if (n < 0) return (int)n;
  obd_trace_record *recs = NULL;
  if (n > 0 && !(recs = obd_malloc((size_t)n * sizeof *recs)))
    return obd_fail(OBD_E_NOMEM, "prefetch: %lld trace records", (long long)n);
  if (n > 0) OBD_TRY(obd_trace_decode(trace, len, recs, (size_t)n));
  return launch(img, 0, recs, (size_t)n, NULL, 0, concurrency, out);
}

int obd_prefetch_start_list(obd_image *img, const char *paths, size_t len,
                            uint32_t concurrency, obd_prefetch **out) {
  if (len > OBD_PREFETCH_LIST_MAX || (len > 0 && paths[len - 1] != '\0'))
    return obd_fail(OBD_E_INVAL,
                    "prefetch list: %zu bytes (at most %u, each path NUL-terminated)", len,
                    OBD_PREFETCH_LIST_MAX);
  char *copy = obd_malloc(len ? len : 1);
  if (!copy) return obd_fail(OBD_E_NOMEM, "prefetch list: %zu bytes", len);
  if (len) memcpy(copy, paths, len);
  return launch(img, 1, NULL, 0, copy, len, concurrency, out);
}

void obd_prefetch_stop(obd_prefetch *p) { atomic_store(&p->stop, 1); }

void obd_prefetch_get_stats(obd_prefetch *p, obd_prefetch_stats *out) {
  memset(out, 0, sizeof *out);
  out->records = atomic_load(&p->records);
  out->replayed = atomic_load(&p->replayed);
  out->bytes = atomic_load(&p->bytes);
  out->failures = atomic_load(&p->failures);
  out->skipped = atomic_load(&p->skipped);
  out->yield_ns = atomic_load(&p->yield_ns);
  out->workers = atomic_load(&p->nworkers);
  pthread_mutex_lock(&p->lock);
  out->done = (uint32_t)p->done;
  pthread_mutex_unlock(&p->lock);
}

int obd_prefetch_wait(obd_prefetch *p, uint32_t timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&p->lock);
  int timed_out = 0;
  while (!p->done && !timed_out) {
    if (timeout_ms == 0) pthread_cond_wait(&p->cond, &p->lock);
    else timed_out = pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT;
  }
  int done = p->done;
  pthread_mutex_unlock(&p->lock);
  return done;
}

void obd_prefetch_close(obd_prefetch *p) {
  if (!p) return;
  obd_prefetch_stop(p);
  pthread_join(p->coordinator, NULL);
  prefetch_free(p);
}
