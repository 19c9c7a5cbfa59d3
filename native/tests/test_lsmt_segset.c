/* lsmt_segset against a naive model that stores, per sector, what the latest
 * insert covering it said: hole, zeroed, or data at physical sector p. */
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "check.h"
#include "lsmt_segset.h"

#define SPAN 300000u /* sectors the model covers */

typedef struct cell {
  uint8_t state; /* 0 hole, 1 zeroed, 2 data */
  uint8_t tag;
  uint64_t p;    /* data: physical sector */
} cell;

static cell *model;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void model_reset(void) {
  if (!model) model = calloc(SPAN, sizeof *model);
  memset(model, 0, SPAN * sizeof *model);
}

static void model_insert(lsmt_seg s) {
  for (uint64_t x = lsmt_seg_offset(s); x < lsmt_seg_end(s); x++) {
    model[x].state = lsmt_seg_zeroed(s) ? 1 : 2;
    model[x].tag = lsmt_seg_tag(s);
    model[x].p = lsmt_seg_moffset(s) + (x - lsmt_seg_offset(s));
  }
}

/* Both insert into the set and the model. */
static int both_insert(lsmt_segset *set, lsmt_seg s) {
  model_insert(s);
  return lsmt_segset_insert(set, s);
}

/* Does segment s agree with the model on every sector it covers? */
static int seg_matches(lsmt_seg s) {
  for (uint64_t x = lsmt_seg_offset(s); x < lsmt_seg_end(s); x++) {
    const cell *c = &model[x];
    if (c->state == 0 || c->tag != lsmt_seg_tag(s)) return 0;
    if (lsmt_seg_zeroed(s) != (c->state == 1)) return 0;
    if (c->state == 2 && c->p != lsmt_seg_moffset(s) + (x - lsmt_seg_offset(s)))
      return 0;
  }
  return 1;
}

/* Checks a sorted list of segments covering [a, b) against the model:
 * ordered, non-empty, inside the range, matching, and gaps are holes. */
static int list_matches(const lsmt_seg *v, size_t n, uint64_t a, uint64_t b) {
  uint64_t x = a;
  for (size_t i = 0; i < n; i++) {
    uint64_t o = lsmt_seg_offset(v[i]);
    if (lsmt_seg_length(v[i]) == 0 || o < x || lsmt_seg_end(v[i]) > b) return 0;
    for (; x < o; x++)
      if (model[x].state != 0) return 0;
    if (!seg_matches(v[i])) return 0;
    x = lsmt_seg_end(v[i]);
  }
  for (; x < b; x++)
    if (model[x].state != 0) return 0;
  return 1;
}

static int set_matches(lsmt_segset *set) {
  lsmt_seg *v;
  size_t n;
  if (lsmt_segset_export(set, &v, &n) < 0) return 0;
  int ok = n == lsmt_segset_count(set) && list_matches(v, n, 0, SPAN);
  obd_free(v);
  return ok;
}

/* A random lookup, fetched in small batches to exercise continuation. */
static int lookup_matches(lsmt_segset *set, uint64_t a, uint64_t b) {
  lsmt_seg all[4096];
  size_t n = 0;
  uint64_t pos = a;
  for (;;) {
    size_t cap = 1 + rnd() % 7;
    if (n + cap > 4096) return 1; /* too many to check; skip */
    size_t got = lsmt_segset_lookup(set, pos, b - pos, all + n, cap);
    n += got;
    if (got < cap) break;
    pos = lsmt_seg_end(all[n - 1]);
    if (pos == b) {
      /* Continuing with an empty range must find nothing. */
      if (lsmt_segset_lookup(set, pos, 0, all + n, 1) != 0) return 0;
      break;
    }
  }
  return list_matches(all, n, a, b);
}

static lsmt_seg random_seg(uint64_t max_len, uint64_t *phys) {
  uint64_t len = 1 + rnd() % max_len;
  uint64_t off = rnd() % (SPAN - len);
  int zeroed = rnd() % 5 == 0;
  lsmt_seg s = lsmt_seg_make(off, (uint32_t)len, *phys, zeroed,
                             (uint8_t)(rnd() % 3));
  if (!zeroed) *phys += len;
  return s;
}

static void run_random(unsigned inserts, uint64_t max_len, unsigned check_every) {
  lsmt_segset *set;
  uint64_t phys = 8;
  model_reset();
  CHECK(lsmt_segset_create(&set) == 0);
  for (unsigned i = 0; i < inserts; i++) {
    uint64_t len = rnd() % 50 == 0 ? LSMT_MAX_SEG_LENGTH : max_len;
    CHECK(both_insert(set, random_seg(len, &phys)) == 0);
    if (i % check_every == 0) {
      uint64_t a = rnd() % SPAN, b = a + 1 + rnd() % 20000;
      if (b > SPAN) b = SPAN;
      CHECK(lookup_matches(set, a, b));
    }
    if (i % 5000 == 4999) CHECK(set_matches(set));
  }
  CHECK(set_matches(set));
  CHECK(lsmt_segset_count(set) > 1000 || max_len > 1000);
  lsmt_segset_destroy(set);
}

static void test_random_small(void) { run_random(40000, 16, 97); }
static void test_random_mixed(void) { run_random(20000, 300, 53); }
static void test_random_large(void) { run_random(3000, 5000, 7); }

static void test_edge_cases(void) {
  lsmt_segset *set;
  model_reset();
  CHECK(lsmt_segset_create(&set) == 0);
  CHECK(both_insert(set, lsmt_seg_make(100, 50, 1000, 0, 0)) == 0);
  CHECK(both_insert(set, lsmt_seg_make(100, 50, 2000, 0, 0)) == 0); /* exact */
  CHECK_EQ_U64(lsmt_segset_count(set), 1);
  CHECK(both_insert(set, lsmt_seg_make(110, 10, 3000, 1, 0)) == 0); /* contained */
  CHECK_EQ_U64(lsmt_segset_count(set), 3);
  CHECK(both_insert(set, lsmt_seg_make(150, 10, 4000, 0, 0)) == 0); /* adjacent */
  CHECK(both_insert(set, lsmt_seg_make(90, 10, 5000, 0, 0)) == 0);  /* adjacent */
  CHECK_EQ_U64(lsmt_segset_count(set), 5);
  CHECK(both_insert(set, lsmt_seg_make(95, 60, 6000, 0, 0)) == 0); /* spans */
  CHECK_EQ_U64(lsmt_segset_count(set), 3);
  CHECK(both_insert(set, lsmt_seg_make(0, 0, 6000, 0, 0)) == 0); /* empty: no-op */
  CHECK(set_matches(set));
  /* Trimming a zeroed segment's front keeps its moffset. */
  CHECK(both_insert(set, lsmt_seg_make(200, 20, 77, 1, 0)) == 0);
  CHECK(both_insert(set, lsmt_seg_make(195, 10, 9000, 0, 0)) == 0);
  lsmt_seg out[4];
  CHECK_EQ_U64(lsmt_segset_lookup(set, 205, 100, out, 4), 1);
  CHECK_EQ_U64(lsmt_seg_moffset(out[0]), 77);
  CHECK_EQ_U64(lsmt_seg_length(out[0]), 15);
  CHECK(set_matches(set));
  lsmt_segset_destroy(set);
}

/* One insert spanning thousands of segments in many chunks. */
static void test_span_many_chunks(void) {
  lsmt_segset *set;
  model_reset();
  CHECK(lsmt_segset_create(&set) == 0);
  for (uint32_t i = 0; i < 5000; i++)
    CHECK(both_insert(set, lsmt_seg_make(10 + 3ull * i, 2, 100 + i, 0, 0)) == 0);
  CHECK_EQ_U64(lsmt_segset_count(set), 5000);
  CHECK(both_insert(set, lsmt_seg_make(11, 14000, 99999, 1, 0)) == 0);
  CHECK(set_matches(set));
  CHECK(both_insert(set, lsmt_seg_make(0, 16383, 5, 0, 0)) == 0);
  CHECK_EQ_U64(lsmt_segset_count(set), 1);
  CHECK(set_matches(set));
  lsmt_segset_destroy(set);
}

/* Sequential inserts in both directions must keep chunks well filled and
 * stay correct; reverse order hits the "insert at chunk front" paths. */
static void test_sequential(void) {
  lsmt_segset *set;
  model_reset();
  CHECK(lsmt_segset_create(&set) == 0);
  for (uint32_t i = 0; i < 20000; i++)
    CHECK(both_insert(set, lsmt_seg_make(2ull * i, 1, i + 8, 0, 0)) == 0);
  for (uint32_t i = 20000; i-- > 0;)
    CHECK(both_insert(set, lsmt_seg_make(2ull * i + 1, 1, i + 50000, i % 2, 0)) == 0);
  CHECK_EQ_U64(lsmt_segset_count(set), 40000);
  CHECK(set_matches(set));
  /* Fill gaps between two existing segments in increasing order. */
  for (uint32_t i = 0; i < 3000; i++)
    CHECK(both_insert(set, lsmt_seg_make(100000 + 2ull * i, 1, i + 8, 0, 0)) == 0);
  CHECK(set_matches(set));
  lsmt_segset_destroy(set);
}

/* A failed allocation leaves the set exactly as it was. */
static void test_alloc_failure(void) {
  lsmt_segset *set;
  uint64_t phys = 8;
  model_reset();
  CHECK(lsmt_segset_create(&set) == 0);
  for (int i = 0; i < 3000; i++) {
    lsmt_seg s = random_seg(40, &phys);
    obd_alloc_fail_after(0);
    int rc = lsmt_segset_insert(set, s);
    obd_alloc_fail_after(-1);
    if (rc == 0) model_insert(s);
    CHECK(rc == 0 || rc == OBD_E_NOMEM);
    if (i % 500 == 0) CHECK(set_matches(set));
    CHECK(both_insert(set, random_seg(40, &phys)) == 0);
  }
  CHECK(set_matches(set));
  lsmt_segset_destroy(set);
}

static void test_index_lookup(void) {
  lsmt_seg idx[3] = {lsmt_seg_make(10, 10, 100, 0, 1), lsmt_seg_make(30, 5, 8, 1, 2),
                     lsmt_seg_make(35, 5, 200, 0, 3)};
  lsmt_seg out[3];
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 0, 10, out, 3), 0);
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 15, 17, out, 3), 2);
  CHECK_EQ_U64(lsmt_seg_offset(out[0]), 15);
  CHECK_EQ_U64(lsmt_seg_length(out[0]), 5);
  CHECK_EQ_U64(lsmt_seg_moffset(out[0]), 105);
  CHECK_EQ_U64(lsmt_seg_tag(out[0]), 1);
  CHECK_EQ_U64(lsmt_seg_offset(out[1]), 30);
  CHECK_EQ_U64(lsmt_seg_length(out[1]), 2);
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 33, UINT64_MAX, out, 3), 2);
  CHECK_EQ_U64(lsmt_seg_moffset(out[0]), 8); /* zeroed keep moffset */
  CHECK_EQ_U64(lsmt_seg_length(out[0]), 2);
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 12, 100, out, 1), 1); /* capped */
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 40, 100, out, 3), 0);
  CHECK_EQ_U64(lsmt_index_lookup(idx, 3, 12, 0, out, 3), 0); /* empty range */
  CHECK_EQ_U64(lsmt_index_lookup(idx, 0, 0, 100, out, 3), 0);
}

int main(void) {
  static const check_case cases[] = {
      {"index_lookup clips and stops at cap", test_index_lookup},
      {"segset_insert handles exact, contained, adjacent, spanning", test_edge_cases},
      {"segset_insert removes thousands of segments in one insert", test_span_many_chunks},
      {"segset_insert stays correct for sequential inserts", test_sequential},
      {"segset matches the model after 40000 small random inserts", test_random_small},
      {"segset matches the model after 20000 mixed random inserts", test_random_mixed},
      {"segset matches the model after large random inserts", test_random_large},
      {"segset_insert leaves the set unchanged on NOMEM", test_alloc_failure},
  };
  int rc = check_main(cases, sizeof cases / sizeof cases[0]);
  free(model);
  return rc;
}
