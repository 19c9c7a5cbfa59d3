/* Fetch bridge: a fixed table of request slots, each with its own buffer and
 * condition variable, handed to an external owner through start() and given
 * back through complete(). See fetch.h for the protocol. */
#include "fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "io_priority.h"

#define FETCH_MESSAGE_MAX 256

enum slot_state {
  SLOT_FREE = 0,
  SLOT_PENDING,   /* started; its waiter sleeps on cond */
  SLOT_DONE,      /* completed; its waiter has not looked yet */
  SLOT_LENT,      /* its buffer is lent to a borrower */
  SLOT_ABANDONED, /* its waiter gave up; the owner may still write buf */
};

typedef struct fetch_slot {
  /* All fields below are guarded by fetch_bridge.lock, except the bytes of
   * buf, which belong to the owner while PENDING or ABANDONED and to the
   * borrower while LENT. */
  uint8_t *buf;
  pthread_cond_t cond;
  uint64_t id;
  int64_t result;
  uint8_t state;
  char message[FETCH_MESSAGE_MAX];
} fetch_slot;

struct fetch_bridge {
  fetch_start_fn start;
  uint32_t nslots;
  fetch_slot *slots;
  pthread_mutex_t lock;
  pthread_cond_t slot_free; /* signalled when a slot becomes FREE */
  pthread_cond_t idle;      /* signalled when `inside` drops to 0 while closing */
  /* Guarded by lock: */
  uint64_t next_id;
  uint32_t free_count;
  uint32_t pending; /* PENDING + ABANDONED */
  uint32_t inside;  /* threads inside fetch/borrow */
  int closing;
  /* Set at create: how many slots got a condition variable (for cleanup). */
  uint32_t conds_ready;
  int base_ready;
};

static int cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) return -1;
  int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}

static void bridge_free(fetch_bridge *b) {
  for (uint32_t i = 0; b->slots && i < b->nslots; i++) {
    obd_free(b->slots[i].buf);
    if (i < b->conds_ready) pthread_cond_destroy(&b->slots[i].cond);
  }
  obd_free(b->slots);
  if (b->base_ready) {
    pthread_cond_destroy(&b->idle);
    pthread_cond_destroy(&b->slot_free);
    pthread_mutex_destroy(&b->lock);
  }
  obd_free(b);
}

static int init_sync(fetch_bridge *b) {
  if (pthread_mutex_init(&b->lock, NULL) != 0) return -1;
  if (cond_init_monotonic(&b->slot_free) != 0) {
    pthread_mutex_destroy(&b->lock);
    return -1;
  }
  if (pthread_cond_init(&b->idle, NULL) != 0) {
    pthread_cond_destroy(&b->slot_free);
    pthread_mutex_destroy(&b->lock);
    return -1;
  }
  b->base_ready = 1;
  return 0;
}

int fetch_bridge_create(fetch_start_fn start, uint32_t max_inflight,
                        fetch_bridge **out) {
  if (!start || max_inflight == 0 || max_inflight > FETCH_MAX_INFLIGHT)
    return obd_fail(OBD_E_INVAL, "fetch bridge: %u slots (want 1..%u) and a start function",
                    max_inflight, FETCH_MAX_INFLIGHT);
  fetch_bridge *b = obd_calloc(1, sizeof *b);
  if (!b) return obd_fail(OBD_E_NOMEM, "fetch bridge");
  b->start = start;
  b->nslots = max_inflight;
  b->next_id = 1;
  b->slots = obd_calloc(max_inflight, sizeof *b->slots);
  if (!b->slots || init_sync(b) != 0) {
    bridge_free(b);
    return obd_fail(OBD_E_NOMEM, "fetch bridge: %u slots", max_inflight);
  }
  for (uint32_t i = 0; i < max_inflight; i++) {
    b->slots[i].buf = obd_malloc(FETCH_MAX_REQUEST);
    if (!b->slots[i].buf || cond_init_monotonic(&b->slots[i].cond) != 0) {
      bridge_free(b);
      return obd_fail(OBD_E_NOMEM, "fetch bridge: buffer of slot %u", i);
    }
    b->conds_ready = i + 1;
  }
  b->free_count = max_inflight;
  *out = b;
  return 0;
}

static void deadline_after(struct timespec *ts, uint32_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* Waits on cond until signalled or the deadline; 0 or ETIMEDOUT. */
static int wait_until(pthread_cond_t *cond, pthread_mutex_t *lock,
                      const struct timespec *deadline) {
  if (!deadline) return pthread_cond_wait(cond, lock);
  int rc = pthread_cond_timedwait(cond, lock, deadline);
  return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

/* Broadcast, not signal: a background waiter that may not take the slot
 * (reserve below) must not swallow the wakeup a demand waiter needs. */
static void slot_make_free(fetch_bridge *b, fetch_slot *s) {
  s->state = SLOT_FREE;
  b->free_count++;
  pthread_cond_broadcast(&b->slot_free);
}

/* Slots background readers (io_priority.h) leave free for demand reads: a
 * quarter, at least one when there are two or more. */
static uint32_t reserve_for(const fetch_bridge *b) {
  if (!io_priority_background() || b->nslots < 2) return 0;
  return b->nslots / 4 ? b->nslots / 4 : 1;
}

static void leave(fetch_bridge *b) {
  if (--b->inside == 0 && b->closing) pthread_cond_broadcast(&b->idle);
}

/* Takes a free slot, waiting for one. Returns its index or a negative error
 * (lock held either way). */
static int64_t take_slot(fetch_bridge *b, uint32_t blob_id, uint64_t offset,
                         uint64_t length, uint32_t timeout_ms,
                         const struct timespec *deadline) {
  uint32_t reserve = reserve_for(b);
  while (b->free_count <= reserve && !b->closing) {
    if (wait_until(&b->slot_free, &b->lock, deadline) == ETIMEDOUT &&
        b->free_count <= reserve)
      return obd_fail(OBD_E_IO,
                      "fetch of blob %u [%llu,+%llu) timed out after %u ms "
                      "waiting for one of %u busy fetch slots",
                      blob_id, (unsigned long long)offset,
                      (unsigned long long)length, timeout_ms, b->nslots);
  }
  if (b->closing)
    return obd_fail(OBD_E_IO, "fetch of blob %u [%llu,+%llu): bridge closed",
                    blob_id, (unsigned long long)offset, (unsigned long long)length);
  for (uint32_t i = 0; i < b->nslots; i++)
    if (b->slots[i].state == SLOT_FREE) return i;
  return obd_fail(OBD_E_IO, "fetch bridge: free count out of step"); /* unreachable */
}

/* Waits for slot s to finish and turns its outcome into a return code,
 * leaving the slot LENT on success and FREE or ABANDONED otherwise. */
static int64_t await_slot(fetch_bridge *b, fetch_slot *s, uint32_t blob_id,
                          uint64_t offset, uint64_t length, uint32_t timeout_ms,
                          const struct timespec *deadline) {
  while (s->state == SLOT_PENDING && !b->closing) {
    if (wait_until(&s->cond, &b->lock, deadline) == ETIMEDOUT &&
        s->state == SLOT_PENDING) {
      s->state = SLOT_ABANDONED;
      return obd_fail(OBD_E_IO, "fetch of blob %u [%llu,+%llu) timed out after %u ms",
                      blob_id, (unsigned long long)offset,
                      (unsigned long long)length, timeout_ms);
    }
  }
  if (s->state == SLOT_PENDING) { /* closing */
    s->state = SLOT_ABANDONED;
    return obd_fail(OBD_E_IO, "fetch of blob %u [%llu,+%llu): bridge closed",
                    blob_id, (unsigned long long)offset, (unsigned long long)length);
  }
  int64_t r = s->result;
  if (r == (int64_t)length) {
    s->state = SLOT_LENT;
    return r;
  }
  int rc;
  if (r < 0)
    rc = obd_fail(OBD_E_IO, "fetch of blob %u [%llu,+%llu): %s", blob_id,
                  (unsigned long long)offset, (unsigned long long)length,
                  s->message[0] ? s->message : "failed");
  else
    rc = obd_fail(OBD_E_IO, "fetch of blob %u [%llu,+%llu): short result of %lld bytes",
                  blob_id, (unsigned long long)offset, (unsigned long long)length,
                  (long long)r);
  slot_make_free(b, s);
  return rc;
}

int64_t fetch_bridge_borrow(fetch_bridge *b, uint32_t blob_id, uint64_t offset,
                            uint64_t length, uint32_t timeout_ms,
                            const uint8_t **data, uint32_t *lease) {
  if (length == 0 || length > FETCH_MAX_REQUEST)
    return obd_fail(OBD_E_INVAL, "fetch of blob %u [%llu,+%llu): length must be 1..%u",
                    blob_id, (unsigned long long)offset,
                    (unsigned long long)length, FETCH_MAX_REQUEST);
  struct timespec deadline;
  if (timeout_ms) deadline_after(&deadline, timeout_ms);
  const struct timespec *dl = timeout_ms ? &deadline : NULL;

  pthread_mutex_lock(&b->lock);
  b->inside++;
  int64_t idx = take_slot(b, blob_id, offset, length, timeout_ms, dl);
  if (idx < 0) {
    leave(b);
    pthread_mutex_unlock(&b->lock);
    return idx;
  }
  fetch_slot *s = &b->slots[idx];
  s->state = SLOT_PENDING;
  s->id = b->next_id++;
  s->result = 0;
  s->message[0] = '\0';
  b->free_count--;
  b->pending++;
  uint64_t id = s->id;
  pthread_mutex_unlock(&b->lock);

  /* Outside the lock: a start() that completes inline must not deadlock. */
  b->start(id, blob_id, offset, length, s->buf);

  pthread_mutex_lock(&b->lock);
  int64_t rc = await_slot(b, s, blob_id, offset, length, timeout_ms, dl);
  if (rc >= 0) {
    *data = s->buf;
    *lease = (uint32_t)idx;
  }
  leave(b);
  pthread_mutex_unlock(&b->lock);
  return rc;
}

void fetch_bridge_release(fetch_bridge *b, uint32_t lease) {
  pthread_mutex_lock(&b->lock);
  if (lease < b->nslots && b->slots[lease].state == SLOT_LENT)
    slot_make_free(b, &b->slots[lease]);
  pthread_mutex_unlock(&b->lock);
}

int64_t fetch_bridge_fetch(fetch_bridge *b, uint32_t blob_id, uint64_t offset,
                           uint64_t length, void *buf, uint32_t timeout_ms) {
  const uint8_t *data;
  uint32_t lease;
  if (length == 0) return 0;
  int64_t rc = fetch_bridge_borrow(b, blob_id, offset, length, timeout_ms, &data, &lease);
  if (rc < 0) return rc;
  memcpy(buf, data, (size_t)length);
  fetch_bridge_release(b, lease);
  return rc;
}

int fetch_bridge_complete(fetch_bridge *b, uint64_t request_id, int64_t result,
                          const char *message) {
  int rc = 1;
  pthread_mutex_lock(&b->lock);
  for (uint32_t i = 0; i < b->nslots; i++) {
    fetch_slot *s = &b->slots[i];
    if (s->id != request_id) continue;
    if (s->state == SLOT_PENDING) {
      s->result = result;
      snprintf(s->message, sizeof s->message, "%s", message ? message : "");
      s->state = SLOT_DONE;
      b->pending--;
      pthread_cond_signal(&s->cond);
      rc = 0;
    } else if (s->state == SLOT_ABANDONED) {
      b->pending--;
      slot_make_free(b, s);
    }
    break;
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

uint32_t fetch_bridge_pending(fetch_bridge *b) {
  pthread_mutex_lock(&b->lock);
  uint32_t n = b->pending;
  pthread_mutex_unlock(&b->lock);
  return n;
}

int fetch_bridge_measure(fetch_bridge *b, uint32_t blob_id, uint64_t length,
                         uint32_t count, uint64_t *ns) {
  for (uint32_t i = 0; i < count; i++) {
    struct timespec t0, t1;
    const uint8_t *data;
    uint32_t lease;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t rc = fetch_bridge_borrow(b, blob_id, i * length, length, 0, &data, &lease);
    if (rc < 0) return (int)rc;
    fetch_bridge_release(b, lease);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns[i] = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
  }
  return 0;
}

void fetch_bridge_destroy(fetch_bridge *b) {
  if (!b) return;
  pthread_mutex_lock(&b->lock);
  b->closing = 1;
  for (uint32_t i = 0; i < b->nslots; i++) pthread_cond_broadcast(&b->slots[i].cond);
  pthread_cond_broadcast(&b->slot_free);
  while (b->inside > 0) pthread_cond_wait(&b->idle, &b->lock);
  pthread_mutex_unlock(&b->lock);
  bridge_free(b);
}
