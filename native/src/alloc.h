/* All heap allocation of the native core goes through this pair, so tests can
 * count allocations (a steady-state read must make none) and make the n-th
 * allocation fail to exercise every error path. */
#ifndef OBD_ALLOC_H
#define OBD_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *obd_malloc(size_t n);
void *obd_calloc(size_t count, size_t size);
void *obd_realloc(void *p, size_t n);
void obd_free(void *p);

/* Number of successful obd_malloc/calloc/realloc calls since start. */
uint64_t obd_alloc_count(void);

/* Test hook: the allocation after `n` more successful ones fails; -1 disables. */
void obd_alloc_fail_after(int64_t n);

#endif
