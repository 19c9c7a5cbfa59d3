#include "lsmt_segset.h"

#include <string.h>

#include "alloc.h"
#include "error.h"

typedef struct chunk {
  uint32_t n;
  lsmt_seg s[LSMT_SEGSET_CHUNK];
} chunk;

/* An insert adds at most two segments (the new one and the right half of a
 * split), so it needs at most two fresh chunks and two top slots. */
#define SPARES 2

struct lsmt_segset {
  chunk **chunks; /* sorted; no chunk is empty */
  size_t nchunks;
  size_t cap;
  size_t count;
  chunk *spare[SPARES];
};

/* A position: segment i of chunk ci. ci == nchunks means "past the end". */
typedef struct pos {
  size_t ci;
  uint32_t i;
} pos;

int lsmt_segset_create(lsmt_segset **out) {
  lsmt_segset *s = obd_calloc(1, sizeof *s);
  if (!s) return obd_fail(OBD_E_NOMEM, "lsmt index map");
  *out = s;
  return 0;
}

void lsmt_segset_destroy(lsmt_segset *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nchunks; i++) obd_free(s->chunks[i]);
  for (size_t i = 0; i < SPARES; i++) obd_free(s->spare[i]);
  obd_free(s->chunks);
  obd_free(s);
}

size_t lsmt_segset_count(const lsmt_segset *s) { return s->count; }

/* Allocates everything one insert may need, so the insert itself cannot
 * fail halfway and leave the map inconsistent. */
static int reserve(lsmt_segset *s) {
  if (s->cap < s->nchunks + SPARES) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    chunk **c = obd_realloc(s->chunks, cap * sizeof *c);
    if (!c) return obd_fail(OBD_E_NOMEM, "lsmt index map: %zu chunks", cap);
    s->chunks = c;
    s->cap = cap;
  }
  for (size_t i = 0; i < SPARES; i++) {
    if (!s->spare[i] && !(s->spare[i] = obd_malloc(sizeof(chunk))))
      return obd_fail(OBD_E_NOMEM, "lsmt index map: chunk");
  }
  return 0;
}

static chunk *take_chunk(lsmt_segset *s) {
  for (size_t i = 0; i < SPARES; i++) {
    chunk *c = s->spare[i];
    if (c) {
      s->spare[i] = NULL;
      c->n = 0;
      return c;
    }
  }
  return NULL; /* unreachable after reserve() */
}

static void top_insert(lsmt_segset *s, size_t ci, chunk *c) {
  memmove(&s->chunks[ci + 1], &s->chunks[ci],
          (s->nchunks - ci) * sizeof *s->chunks);
  s->chunks[ci] = c;
  s->nchunks++;
}

static void top_remove(lsmt_segset *s, size_t ci) {
  chunk *c = s->chunks[ci];
  memmove(&s->chunks[ci], &s->chunks[ci + 1],
          (s->nchunks - ci - 1) * sizeof *s->chunks);
  s->nchunks--;
  for (size_t i = 0; i < SPARES; i++) {
    if (!s->spare[i]) {
      s->spare[i] = c;
      return;
    }
  }
  obd_free(c);
}

/* First index in a sorted array whose segment ends after sector a. */
static uint32_t first_after(const lsmt_seg *v, uint32_t n, uint64_t a) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (lsmt_seg_end(v[mid]) > a)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Position of the first segment that ends after sector a. */
static pos find(const lsmt_segset *s, uint64_t a) {
  size_t lo = 0, hi = s->nchunks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const chunk *c = s->chunks[mid];
    if (lsmt_seg_end(c->s[c->n - 1]) > a)
      hi = mid;
    else
      lo = mid + 1;
  }
  pos p = {lo, 0};
  if (lo < s->nchunks) p.i = first_after(s->chunks[lo]->s, s->chunks[lo]->n, a);
  return p;
}

static lsmt_seg *at(const lsmt_segset *s, pos p) {
  return &s->chunks[p.ci]->s[p.i];
}

/* Returns a position equivalent to p (same place in the order) whose chunk
 * has room for one more segment, splitting or adding a chunk if needed.
 * Prefers neighbours and fresh chunks at chunk edges so sequential inserts
 * in either direction leave full chunks behind. */
static pos make_room(lsmt_segset *s, pos p) {
  chunk *c = s->chunks[p.ci];
  if (c->n < LSMT_SEGSET_CHUNK) return p;
  if (p.i == 0 && p.ci > 0 && s->chunks[p.ci - 1]->n < LSMT_SEGSET_CHUNK)
    return (pos){p.ci - 1, s->chunks[p.ci - 1]->n};
  if (p.i == c->n && p.ci + 1 < s->nchunks &&
      s->chunks[p.ci + 1]->n < LSMT_SEGSET_CHUNK)
    return (pos){p.ci + 1, 0};
  chunk *fresh = take_chunk(s);
  if (p.i == c->n || p.i == 0) {
    size_t at_ci = p.i == 0 ? p.ci : p.ci + 1;
    top_insert(s, at_ci, fresh);
    return (pos){at_ci, 0};
  }
  uint32_t half = c->n / 2;
  memcpy(fresh->s, c->s + half, (c->n - half) * sizeof(lsmt_seg));
  fresh->n = c->n - half;
  c->n = half;
  top_insert(s, p.ci + 1, fresh);
  if (p.i <= half) return p;
  return (pos){p.ci + 1, p.i - half};
}

/* Inserts seg before position p (p.i may equal the chunk's count); returns
 * where it landed. */
static pos insert_at(lsmt_segset *s, pos p, lsmt_seg seg) {
  if (s->nchunks == 0) {
    top_insert(s, 0, take_chunk(s));
    p = (pos){0, 0};
  } else if (p.ci == s->nchunks) {
    p.ci--;
    p.i = s->chunks[p.ci]->n;
  }
  p = make_room(s, p);
  chunk *c = s->chunks[p.ci];
  memmove(&c->s[p.i + 1], &c->s[p.i], (c->n - p.i) * sizeof(lsmt_seg));
  c->s[p.i] = seg;
  c->n++;
  s->count++;
  return p;
}

/* Removes the segments from p on that end at or before sector b; returns
 * the position of the first one left. Whole chunks go at once. */
static pos remove_covered(lsmt_segset *s, pos p, uint64_t b) {
  while (p.ci < s->nchunks) {
    chunk *c = s->chunks[p.ci];
    uint32_t j = first_after(c->s, c->n, b);
    if (j == p.i) break;
    s->count -= j - p.i;
    if (p.i == 0 && j == c->n) {
      top_remove(s, p.ci);
      continue;
    }
    memmove(&c->s[p.i], &c->s[j], (c->n - j) * sizeof(lsmt_seg));
    c->n -= j - p.i;
    if (p.i < c->n) break;
    p = (pos){p.ci + 1, 0};
  }
  return p;
}

int lsmt_segset_insert(lsmt_segset *s, lsmt_seg seg) {
  uint64_t a = lsmt_seg_offset(seg), b = lsmt_seg_end(seg);
  if (a == b) return 0;
  OBD_TRY(reserve(s));
  pos p = find(s, a);
  if (p.ci < s->nchunks && lsmt_seg_offset(*at(s, p)) < a) {
    lsmt_seg old = *at(s, p);
    *at(s, p) = lsmt_seg_clip(old, lsmt_seg_offset(old), a);
    p.i++;
    if (lsmt_seg_end(old) > b) { /* seg lies strictly inside old: split */
      p = insert_at(s, p, seg);
      p.i++;
      insert_at(s, p, lsmt_seg_clip(old, b, lsmt_seg_end(old)));
      return 0;
    }
    if (p.i == s->chunks[p.ci]->n) p = (pos){p.ci + 1, 0};
  }
  p = remove_covered(s, p, b);
  if (p.ci < s->nchunks && lsmt_seg_offset(*at(s, p)) < b) {
    lsmt_seg *next = at(s, p);
    *next = lsmt_seg_clip(*next, b, lsmt_seg_end(*next));
  }
  insert_at(s, p, seg);
  return 0;
}

size_t lsmt_segset_lookup(const lsmt_segset *s, uint64_t offset,
                          uint64_t length, lsmt_seg *out, size_t cap) {
  uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
  size_t got = 0;
  if (end == offset) return 0;
  for (size_t ci = find(s, offset).ci; ci < s->nchunks && got < cap; ci++) {
    const chunk *c = s->chunks[ci];
    if (lsmt_seg_offset(c->s[0]) >= end) break;
    got += lsmt_index_lookup(c->s, c->n, offset, length, out + got, cap - got);
  }
  return got;
}

int lsmt_segset_export(const lsmt_segset *s, lsmt_seg **out, size_t *count) {
  lsmt_seg *v = obd_malloc(s->count * sizeof *v);
  if (!v) return obd_fail(OBD_E_NOMEM, "lsmt index: %zu segments", s->count);
  size_t k = 0;
  for (size_t ci = 0; ci < s->nchunks; ci++) {
    memcpy(v + k, s->chunks[ci]->s, s->chunks[ci]->n * sizeof *v);
    k += s->chunks[ci]->n;
  }
  *out = v;
  *count = k;
  return 0;
}
