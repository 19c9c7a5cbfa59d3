/* The writable layer's in-memory interval map (spec §2.6 "Loading"): a sorted,
 * non-overlapping set of segments where each insert overrides whatever it
 * overlaps. Internal to the LSMT module.
 *
 * Layout: a two-level chunked sorted array — a top array of chunk pointers,
 * each chunk a sorted array of at most LSMT_SEGSET_CHUNK segments. Inserts
 * cost two binary searches plus a memmove inside one chunk, so millions of
 * segments inserted in random order stay fast; no operation moves the whole
 * set.
 *
 * Not thread-safe: callers serialise inserts against each other and against
 * lookups. */
#ifndef OBD_LSMT_SEGSET_H
#define OBD_LSMT_SEGSET_H

#include <stddef.h>
#include <stdint.h>

#include "lsmt.h"

#define LSMT_SEGSET_CHUNK 254u /* segments per chunk: a chunk is ~4 KiB */

typedef struct lsmt_segset lsmt_segset;

/* Creates an empty set. Returns 0 or OBD_E_NOMEM. */
int lsmt_segset_create(lsmt_segset **out);

/* Frees the set (NULL is allowed). */
void lsmt_segset_destroy(lsmt_segset *s);

/* Inserts seg, overriding every overlap with older segments: an older segment
 * is trimmed or split, and trimming the front of a data segment advances its
 * moffset by the same number of sectors (zeroed segments keep moffset).
 * A zero-length seg is a no-op. Returns 0, or OBD_E_NOMEM with the set
 * unchanged (all memory the insert may need is reserved before it mutates). */
int lsmt_segset_insert(lsmt_segset *s, lsmt_seg seg);

/* Writes at most cap segments intersecting [offset, offset+length) sectors,
 * clipped to that range, in ascending order; returns how many. Continue from
 * the end of the last one to get the rest. Never allocates. */
size_t lsmt_segset_lookup(const lsmt_segset *s, uint64_t offset,
                          uint64_t length, lsmt_seg *out, size_t cap);

/* Number of segments in the set. */
size_t lsmt_segset_count(const lsmt_segset *s);

/* A sorted copy of every segment, allocated with obd_malloc (free with
 * obd_free; an empty set still returns a non-NULL allocation). Returns 0 or
 * OBD_E_NOMEM. */
int lsmt_segset_export(const lsmt_segset *s, lsmt_seg **out, size_t *count);

#endif
