/* The merged read view of a stack of layers (spec §2.12): N read-only
 * layers, bottom first, plus an optional writable layer on top.
 *
 * The read-only indexes are merged once at open ("upper wins": a zeroed range
 * hides what is below, holes read as zeros) into one sorted array whose tags
 * name the layer to read. Reads then binary-search that array; they never
 * allocate and may run on many threads at once. Writes and discards go to the
 * writable layer and need external serialisation with each other. */
#ifndef OBD_IMAGE_H
#define OBD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lsmt.h"

typedef struct obd_image obd_image;

/* Takes ownership of lowers[0..n) (bottom first, n <= 255) and of upper
 * (may be NULL) — also on failure. Virtual size = that of the topmost layer
 * whose virtual size is non-zero; an upper with virtual size 0 is set to it. */
int obd_image_open(lsmt_ro **lowers, size_t n, lsmt_rw *upper,
                   obd_image **out);

uint64_t obd_image_size(const obd_image *img);

/* Number of read-only layers. */
size_t obd_image_lower_count(const obd_image *img);

/* The file read-only layer `index` (0 = bottom, as given to open) reads its
 * LSMT bytes from (lsmt_ro_file), owned by the image; NULL for an index out
 * of range. Trace replay (spec §8.4) reads through it so that fetched bytes
 * land in the blob cache. Safe beside reads. */
obd_file *obd_image_lower_file(obd_image *img, size_t index);

/* Segments in the merged read-only index (for `inspect` and benchmarks). */
size_t obd_image_segment_count(const obd_image *img);

/* Reads n bytes at off (512-aligned; clamped to the virtual size). Returns
 * bytes read or a negative obd_err whose detail names the layer and offset. */
int64_t obd_image_pread(obd_image *img, void *buf, size_t n, uint64_t off);

/* Finds the first run of data at or after byte `off`: bytes backed by a
 * layer file, not holes and not zeroed ranges (both read as zeros). Sets
 * [*start, *end) in bytes and returns 1, or returns 0 when nothing but
 * zeros follows. Lets callers skip the empty part of a mostly empty device
 * (a 64 GiB image often holds a few MiB). Never allocates; safe beside reads. */
int obd_image_next_data(obd_image *img, uint64_t off, uint64_t *start,
                        uint64_t *end);

/* Write and discard through the writable layer; OBD_E_READONLY without one,
 * OBD_E_RANGE for a range past the virtual size. */
int64_t obd_image_pwrite(obd_image *img, const void *buf, size_t n,
                         uint64_t off);
int obd_image_discard(obd_image *img, uint64_t off, uint64_t n);

/* Closes every layer; returns the writable layer's close result. */
int obd_image_close(obd_image *img);

#endif
