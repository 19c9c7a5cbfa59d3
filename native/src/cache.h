/* The local blob cache (spec §11.2, in our own on-disk form): remote layer
 * blobs read through a bounded, persistent cache whose misses are fetched
 * through a fetch bridge (fetch.h).
 *
 * On disk, per blob "sha256:<hex>", in the cache directory:
 *   <hex>.data    a sparse file of the blob's size holding the cached pages
 *                 at their own offsets;
 *   <hex>.bitmap  a 64-byte header (magic, version, page size, blob size,
 *                 page count) and one bit per page, set when the page's bytes
 *                 are in <hex>.data. A header that does not match the page
 *                 size or blob size asked for resets the blob.
 * A page is the refill unit (`refillSize`, default 256 KiB). A miss fetches
 * the missing pages a read touches, adjacent ones coalesced into requests of
 * up to CACHE_MAX_REQUEST bytes; the bytes are written to the data file, the
 * bits set and written through to the bitmap, then copied out.
 *
 * Capacity: the cache counts the bytes of present pages of every blob in the
 * directory (those of blobs not open now are summed from their bitmaps at
 * open). Past the cap it evicts: first whole blobs that are not open, oldest
 * bitmap first (both files deleted), then pages of open blobs in
 * least-recently-used order (hole punched, bit cleared). A page that a read
 * is copying from is never evicted under it; if every page is in use the
 * cache stays over the cap until the next eviction.
 *
 * Crash safety: a bit is set only after its page's bytes were written, so a
 * restarted process never sees a bit without its data. After a power loss the
 * order is not guaranteed; ZFile block CRCs then catch the damage and the
 * invalidate op (file.h) evicts the page so it is fetched again.
 *
 * Thread-safety: all functions may be called from many threads at once,
 * except that cache_close must not race with cache_open_blob. One process
 * owns a cache directory at a time (flock on <dir>/.lock). One mutex per
 * cache guards all page state, LRU, blob lists and counters; it is never
 * held across a fetch (start() of a Deno thread-safe callback blocks until
 * the JS thread has run it), so open, close and stats calls made on the JS
 * thread never wait for a fetch. Reads, layer opens and invalidate may:
 * never call those on the thread that serves the fetches.
 *
 * Priority: a demand read that waits for a fetch (its own, or another
 * read's of a page it needs) counts itself as waiting (io_priority.h),
 * which makes background readers hold back.
 *
 * Memory: per open blob, 32 bytes per page (1/8192 of the blob at 256 KiB
 * pages) plus the bitmap; reads never allocate (fetches borrow the bridge's
 * slot buffers). */
#ifndef OBD_CACHE_H
#define OBD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "file.h"
#include "image.h"
#include "lsmt.h"

#define CACHE_DEFAULT_PAGE_SIZE 262144u /* §6 cacheConfig.refillSize */
#define CACHE_MAX_REQUEST FETCH_MAX_REQUEST /* bytes per fetch, at most */
#define CACHE_DEFAULT_TIMEOUT_MS 30000u /* §6: registry timeout 30 s */

typedef struct blob_cache blob_cache;

typedef struct cache_stats {
  uint64_t bytes_fetched;  /* bytes received from the bridge */
  uint64_t fetch_requests; /* successful and failed requests */
  uint64_t fetch_errors;   /* requests that failed (error, short, timeout) */
  uint64_t hits;           /* pages a read found present */
  uint64_t misses;         /* pages a read had to fetch */
  uint64_t evictions;      /* pages evicted (blob totals include whole blobs) */
  uint64_t cached_bytes;   /* bytes of present pages now */
  /* Trace replay and list prefetch (spec §8.4, §8.5) read on threads marked
   * background (io_priority.h): */
  uint64_t prefetch_bytes; /* bytes fetched for background reads */
  uint64_t prefetch_hits;  /* pages a background read brought in that a
                              demand read then used (each counted once) */
} cache_stats;

/* Opens (creating if needed) the cache in directory dir with capacity
 * cap_bytes (> 0) and page size page_size (0 for the default; else a power
 * of two, multiple of 4096, at most CACHE_MAX_REQUEST). Scans the directory
 * to account the blobs already there, deletes files it cannot account for
 * (a data file without a bitmap, a bitmap with a bad header), and evicts
 * down to the cap. Errors: OBD_E_INVAL, OBD_E_IO (including a directory
 * locked by another open cache), OBD_E_NOMEM. */
int cache_open(const char *dir, uint64_t cap_bytes, uint32_t page_size,
               blob_cache **out);

/* Bounds each fetch of this cache (default CACHE_DEFAULT_TIMEOUT_MS; 0 waits
 * forever). Applies to fetches that start afterwards. */
void cache_set_fetch_timeout(blob_cache *c, uint32_t timeout_ms);

/* Opens blob `digest` ("sha256:" + 64 lower-case hex digits) of `size`
 * bytes as an obd_file named by the digest. Its misses are fetched through
 * bridge b as blob blob_id; b must outlive the file. The same digest opened
 * twice shares pages and bitmap (sizes must agree, else OBD_E_INVAL); each
 * handle fetches through its own bridge. Reads of a failed fetch return
 * OBD_E_IO naming the digest and range and leave the pages missing, so the
 * next read tries again. The file supports the invalidate op: it evicts the
 * pages overlapping the range (waiting for readers of them to finish). */
int cache_open_blob(blob_cache *c, const char *digest, uint64_t size,
                    fetch_bridge *b, uint32_t blob_id, obd_file **out);

/* Counters of the blob behind f, shared by every handle of that blob, since
 * it was opened in this process (cached_bytes: now). OBD_E_INVAL if f is not
 * a cache file. */
int cache_blob_stats(obd_file *f, cache_stats *out);

/* Totals of the cache since cache_open (cached_bytes: now, all blobs). */
void cache_get_stats(blob_cache *c, cache_stats *out);

/* Calls for Deno's nonblocking FFI, which runs them on a worker thread:
 * the error detail is thread-local, so on failure these copy it into
 * detail[0..cap) (NUL-terminated) for the caller to read. Same results as
 * obd_layer_open (taking ownership of raw), obd_file_pread and
 * obd_image_pread. */
int cache_call_layer_open(obd_file *raw, lsmt_ro **out, char *detail,
                          size_t cap);
int64_t cache_call_file_pread(obd_file *f, void *buf, size_t n, uint64_t off,
                              char *detail, size_t cap);
int64_t cache_call_image_pread(obd_image *img, void *buf, size_t n,
                               uint64_t off, char *detail, size_t cap);

/* Closes the cache (NULL is allowed). Blob files still open keep it alive;
 * it is freed when the last of them closes. */
void cache_close(blob_cache *c);

#endif
