#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_uint_fast64_t count;
static atomic_int_fast64_t fail_after = -1;

static int should_fail(void) {
  int_fast64_t left = atomic_load(&fail_after);
  while (left >= 0) {
    if (left == 0) return 1;
    if (atomic_compare_exchange_weak(&fail_after, &left, left - 1)) return 0;
  }
  return 0;
}

void *obd_malloc(size_t n) {
  if (should_fail()) return NULL;
  void *p = malloc(n ? n : 1);
  if (p) atomic_fetch_add(&count, 1);
  return p;
}

void *obd_calloc(size_t count_, size_t size) {
  if (should_fail()) return NULL;
  void *p = calloc(count_ ? count_ : 1, size ? size : 1);
  if (p) atomic_fetch_add(&count, 1);
  return p;
}

void *obd_realloc(void *p, size_t n) {
  if (should_fail()) return NULL;
  void *q = realloc(p, n ? n : 1);
  if (q) atomic_fetch_add(&count, 1);
  return q;
}

void obd_free(void *p) { free(p); }

uint64_t obd_alloc_count(void) { return atomic_load(&count); }

void obd_alloc_fail_after(int64_t n) { atomic_store(&fail_after, n); }
