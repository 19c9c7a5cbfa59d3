/* The trace recorder (spec §8.2) and the obd_file that feeds it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "crc32c.h"
#include "error.h"
#include "layer.h"
#include "trace.h"

/* Records are kept in fixed chunks, so growing never moves (or copies)
 * what is already recorded: only the small chunk table is reallocated. */
#define CHUNK_RECORDS 4096u

struct obd_trace_recorder {
  atomic_int refs;
  atomic_int stopped;
  atomic_uint_fast64_t dropped;
  pthread_mutex_t lock;
  /* Guarded by lock: */
  obd_trace_record **chunks;
  size_t nchunks;
  size_t chunk_cap;
  uint64_t count;
};

int obd_trace_recorder_create(obd_trace_recorder **out) {
  obd_trace_recorder *r = obd_calloc(1, sizeof *r);
  if (!r) return obd_fail(OBD_E_NOMEM, "trace recorder");
  if (pthread_mutex_init(&r->lock, NULL) != 0) {
    obd_free(r);
    return obd_fail(OBD_E_NOMEM, "trace recorder: lock");
  }
  atomic_init(&r->refs, 1);
  atomic_init(&r->stopped, 0);
  atomic_init(&r->dropped, 0);
  *out = r;
  return 0;
}

static void retain(obd_trace_recorder *r) { atomic_fetch_add(&r->refs, 1); }

void obd_trace_recorder_release(obd_trace_recorder *r) {
  if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
  for (size_t i = 0; i < r->nchunks; i++) obd_free(r->chunks[i]);
  obd_free(r->chunks);
  pthread_mutex_destroy(&r->lock);
  obd_free(r);
}

/* Lock held. Makes room for one more record; 0 or -1. */
static int reserve_slot(obd_trace_recorder *r) {
  if (r->count < (uint64_t)r->nchunks * CHUNK_RECORDS) return 0;
  if (r->count >= OBD_TRACE_MAX_RECORDS) return -1;
  if (r->nchunks == r->chunk_cap) {
    size_t cap = r->chunk_cap ? r->chunk_cap * 2 : 16;
    obd_trace_record **t = obd_realloc(r->chunks, cap * sizeof *t);
    if (!t) return -1;
    r->chunks = t;
    r->chunk_cap = cap;
  }
  obd_trace_record *c = obd_malloc(CHUNK_RECORDS * sizeof *c);
  if (!c) return -1;
  r->chunks[r->nchunks++] = c;
  return 0;
}

void obd_trace_recorder_add(obd_trace_recorder *r, uint32_t layer_index,
                            uint64_t count, uint64_t offset) {
  if (atomic_load(&r->stopped)) return;
  pthread_mutex_lock(&r->lock);
  if (reserve_slot(r) == 0) {
    obd_trace_record *rec = &r->chunks[r->count / CHUNK_RECORDS][r->count % CHUNK_RECORDS];
    rec->op = OBD_TRACE_OP_READ;
    rec->layer_index = layer_index;
    rec->count = count;
    rec->offset = (int64_t)offset;
    r->count++;
  } else {
    atomic_fetch_add(&r->dropped, 1);
  }
  pthread_mutex_unlock(&r->lock);
}

void obd_trace_recorder_stop(obd_trace_recorder *r) { atomic_store(&r->stopped, 1); }

uint64_t obd_trace_recorder_count(obd_trace_recorder *r) {
  pthread_mutex_lock(&r->lock);
  uint64_t n = r->count;
  pthread_mutex_unlock(&r->lock);
  return n;
}

uint64_t obd_trace_recorder_dropped(obd_trace_recorder *r) {
  return atomic_load(&r->dropped);
}

int64_t obd_trace_recorder_encode(obd_trace_recorder *r, uint8_t *buf, size_t cap) {
  pthread_mutex_lock(&r->lock);
  uint64_t n = r->count;
  int64_t need = (int64_t)(OBD_TRACE_HEADER_SIZE + n * OBD_TRACE_RECORD_SIZE);
  if ((uint64_t)need > cap) {
    pthread_mutex_unlock(&r->lock);
    return need;
  }
  uint32_t crc = 0;
  int rc = 0;
  for (uint64_t i = 0; i < n && rc >= 0; i++) {
    uint8_t *p = buf + OBD_TRACE_HEADER_SIZE + i * OBD_TRACE_RECORD_SIZE;
    rc = obd_trace_encode_record(&r->chunks[i / CHUNK_RECORDS][i % CHUNK_RECORDS], p,
                                 OBD_TRACE_RECORD_SIZE);
    crc = crc32c_raw(crc, p, OBD_TRACE_RECORD_SIZE);
  }
  pthread_mutex_unlock(&r->lock);
  obd_trace_header h = {n * OBD_TRACE_RECORD_SIZE, crc};
  if (rc >= 0) rc = obd_trace_encode_header(&h, buf, cap);
  return rc < 0 ? rc : need;
}

/* ---- the recording file ---- */

typedef struct trace_file {
  obd_file base;
  obd_file *inner;
  obd_trace_recorder *rec;
  uint32_t layer_index;
  int own;
} trace_file;

static int64_t trace_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  trace_file *t = (trace_file *)f;
  int64_t got = t->inner->ops->pread(t->inner, buf, n, off);
  if (got > 0) obd_trace_recorder_add(t->rec, t->layer_index, (uint64_t)got, off);
  return got;
}

static int trace_invalidate(obd_file *f, uint64_t off, uint64_t n) {
  return obd_file_invalidate(((trace_file *)f)->inner, off, n);
}

static void trace_close(obd_file *f) {
  trace_file *t = (trace_file *)f;
  if (t->own) obd_file_close(t->inner);
  obd_trace_recorder_release(t->rec);
  obd_free(t);
}

/* No map: a reader that mapped the bytes would read them unrecorded. */
static const obd_file_ops trace_file_ops = {
    .pread = trace_pread,
    .close = trace_close,
    .invalidate = trace_invalidate,
};

int obd_trace_wrap(obd_file *inner, int own, obd_trace_recorder *r,
                   uint32_t layer_index, obd_file **out) {
  trace_file *t = obd_malloc(sizeof *t);
  if (!t) {
    int rc = obd_fail(OBD_E_NOMEM, "%s: trace recording", inner->name);
    if (own) obd_file_close(inner);
    return rc;
  }
  obd_file_init(&t->base, &trace_file_ops, inner->size, inner->name);
  t->inner = inner;
  t->rec = r;
  t->layer_index = layer_index;
  t->own = own;
  retain(r);
  *out = &t->base;
  return 0;
}

/* Prefixes the layer's name unless the detail starts with it already. */
static int with_name(int rc, const char *name) {
  if (strncmp(obd_last_error(), name, strlen(name)) == 0) return rc;
  return obd_fail_wrap(rc, "%s", name);
}

int obd_trace_layer_open(obd_file *raw, int own, obd_trace_recorder *r,
                         uint32_t layer_index, lsmt_ro **out) {
  char name[sizeof raw->name];
  obd_file *inner = NULL, *traced = NULL;
  memcpy(name, raw->name, sizeof name); /* raw may be closed on failure */
  OBD_TRY(obd_layer_unwrap(raw, own, &inner));
  int rc = obd_trace_wrap(inner, own || inner != raw, r, layer_index, &traced);
  if (rc == 0) rc = lsmt_ro_open(traced, 1, out); /* closes traced on failure */
  return rc < 0 ? with_name(rc, name) : 0;
}

int obd_trace_layer_open_path(const char *path, obd_trace_recorder *r,
                              uint32_t layer_index, lsmt_ro **out) {
  obd_file *f = NULL;
  OBD_TRY(obd_file_open_path(path, &f));
  return obd_trace_layer_open(f, 1, r, layer_index, out);
}

int obd_trace_call_layer_open(obd_file *raw, obd_trace_recorder *r,
                              uint32_t layer_index, lsmt_ro **out, char *detail,
                              size_t cap) {
  int rc = obd_trace_layer_open(raw, 1, r, layer_index, out);
  if (rc < 0 && detail && cap) snprintf(detail, cap, "%s", obd_last_error());
  return rc;
}
