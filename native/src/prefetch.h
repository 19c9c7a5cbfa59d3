/* Prefetch: trace replay (spec §8.4) and list prefetch (§8.5).
 *
 * A *prefetcher* reads, in the background, what a container is expected to
 * read, so that the bytes are in the blob cache before it asks:
 *  - trace replay: the records of a trace file (trace.h), in order, each a
 *    pread of `count` bytes at `offset` of lower layer `layer_index`'s LSMT
 *    file (obd_image_lower_file), which goes through ZFile and the blob
 *    cache and so fetches the compressed blocks behind it;
 *  - list prefetch: a list of paths, resolved in the ext4 filesystem of the
 *    merged image into the device ranges that hold their data, then read
 *    with obd_image_pread in slices of at most OBD_PREFETCH_SLICE bytes.
 *
 * `concurrency` workers pop the records in order and read them. They run as
 * background readers (io_priority.h): demand reads keep a quarter of the
 * fetch slots (and of each ZFile's decode slots), and while a demand read
 * waits for a fetch only a quarter of the workers go on reading.
 * A failed read is counted and skipped.
 *
 * Lifecycle: start after the image is open and served; obd_prefetch_stop
 * asks the workers to finish (each ends after its current slice); close
 * stops, waits and frees, and must come before the image is closed. close
 * (and wait) may block until fetches in flight finish: call them where
 * fetches can still be served (not on the thread that serves them).
 *
 * Memory: the records (24 bytes each) and OBD_PREFETCH_READ bytes of
 * scratch per worker, allocated at start; reads allocate nothing.
 *
 * Thread-safety: stats, stop and wait may be called from any thread at any
 * time before close; close exactly once. */
#ifndef OBD_PREFETCH_H
#define OBD_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "trace.h"

#define OBD_PREFETCH_DEFAULT_CONCURRENCY 16u /* §6 prefetchConfig.concurrency */
#define OBD_PREFETCH_MAX_CONCURRENCY 256u
#define OBD_PREFETCH_SLICE (1u << 20)        /* §8.5: list records of at most 1 MiB */
/* Bytes per pread of a worker: longer records are read in pieces this
 * size, each admitted on its own, so holding back for demand reads takes
 * effect within one piece. (256 KiB pieces doubled the requests without a
 * measurable gain for demand reads; bench/prefetch.ts.) */
#define OBD_PREFETCH_READ (1u << 20)
#define OBD_PREFETCH_LIST_MAX 65536u         /* §8.5: list file size */
#define OBD_PREFETCH_MAX_RUNS 8192u          /* §8.5: extents per file */
/* While demand reads wait for fetches, at most a quarter of the workers (at
 * least one) are reading; the others sleep before their next piece until no
 * demand read waits, or at most this long, so a steady stream of misses
 * slows prefetch, never stops it. */
#define OBD_PREFETCH_YIELD_MAX_MS 100u

typedef struct obd_prefetch obd_prefetch;

/* Counters (also read through FFI: layout pinned in ffi_layout.c). */
typedef struct obd_prefetch_stats {
  uint64_t records;  /* records to replay (list: known once resolved) */
  uint64_t replayed; /* records read successfully */
  uint64_t bytes;    /* bytes those reads returned */
  uint64_t failures; /* records whose read failed or that name no layer or a
                        bad range; list paths that could not be resolved */
  uint64_t skipped;  /* records that are not reads (op != 'R') */
  uint64_t yield_ns; /* time workers spent holding back for demand reads */
  uint32_t done;     /* 1 once every worker has finished or stopped */
  uint32_t workers;  /* workers started */
} obd_prefetch_stats;

/* Decodes the trace file trace[0..len) (obd_trace_decode: a file that fails
 * any check is an error and nothing starts) and starts replaying it on img
 * with `concurrency` workers (0 = default, at most
 * OBD_PREFETCH_MAX_CONCURRENCY). The bytes are copied; img is borrowed. */
int obd_prefetch_start_trace(obd_image *img, const uint8_t *trace, size_t len,
                             uint32_t concurrency, obd_prefetch **out);

/* Starts list prefetch on img. paths[0..len) holds absolute paths, each
 * ended by a NUL; one ending in '/' stands for every regular file below
 * that directory. The paths are resolved on a background thread, so a
 * failure to open the filesystem shows up as failures in the stats, not
 * here. OBD_E_INVAL for len > OBD_PREFETCH_LIST_MAX or an unterminated
 * list. */
int obd_prefetch_start_list(obd_image *img, const char *paths, size_t len,
                            uint32_t concurrency, obd_prefetch **out);

/* Resolves a path list as obd_prefetch_start_list does, on the calling
 * thread: the read records (layer_index 0 = the merged image, offsets and
 * counts multiples of 512, at most OBD_PREFETCH_SLICE each) go into *out
 * (obd_free it; NULL when there are none), their number into *count, paths
 * that could not be resolved into *unresolved. Fails only when the image
 * holds no readable ext4 or memory runs out. */
int obd_prefetch_list_resolve(obd_image *img, const char *paths, size_t len,
                              obd_trace_record **out, size_t *count,
                              uint64_t *unresolved);

/* obd_prefetch_list_resolve for Deno's nonblocking FFI (it may wait for
 * fetches): copies min(count, cap) records into out (may be NULL when cap
 * is 0) and returns the count, so a caller whose cap was too small calls
 * again; or a negative obd_err with the detail copied into
 * detail[0..detail_cap). Also OBD_E_INVAL for a list as start_list rejects. */
int64_t obd_prefetch_call_list_resolve(obd_image *img, const char *paths, size_t len,
                                       obd_trace_record *out, size_t cap,
                                       uint64_t *unresolved, char *detail,
                                       size_t detail_cap);

/* Asks the workers to stop; returns at once. */
void obd_prefetch_stop(obd_prefetch *p);

/* A snapshot of the counters. */
void obd_prefetch_get_stats(obd_prefetch *p, obd_prefetch_stats *out);

/* Waits until the replay is done, at most timeout_ms (0: no limit).
 * Returns 1 when done, 0 on timeout. */
int obd_prefetch_wait(obd_prefetch *p, uint32_t timeout_ms);

/* Stops, waits for every worker and frees p (NULL is allowed). */
void obd_prefetch_close(obd_prefetch *p);

#endif
