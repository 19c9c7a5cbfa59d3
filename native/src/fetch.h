/* The fetch bridge: how a native thread that misses the local cache gets
 * bytes of a remote blob from code that runs elsewhere (TypeScript, through a
 * thread-safe FFI callback).
 *
 * Vocabulary. A *request* asks for `length` bytes of blob `blob_id` (a number
 * the owner of the bridge gave the blob) at `offset`. The bridge calls the
 * owner's start function on the thread that needs the bytes; start only
 * *starts* the work and returns at once. Later, from any thread, the owner
 * writes the bytes into the request's buffer and calls
 * fetch_bridge_complete(). The requesting thread waits on a condition
 * variable until then, or until its timeout passes.
 *
 * Buffers. Every request slot owns a buffer of FETCH_MAX_REQUEST bytes made
 * at create, and start() is handed that buffer, never a caller's memory. So a
 * request that timed out can still be written by a late owner without
 * touching memory its former caller has moved on to use: the slot stays
 * *abandoned* until its late complete() arrives, and only then is reused.
 *
 * Lifecycle:
 *   fetch_bridge_create(start, 16, &b);
 *   n = fetch_bridge_fetch(b, 7, 0, 65536, buf, 30000);   // any thread
 *   ... on another thread: write into the buffer start() got, then
 *   fetch_bridge_complete(b, request_id, 65536, NULL);
 *   fetch_bridge_destroy(b);
 *
 * Thread-safety: every function but destroy may be called from any thread at
 * once. One mutex guards the slot table; each slot has its own condition
 * variable, so a completion wakes only its waiter. */
#ifndef OBD_FETCH_H
#define OBD_FETCH_H

#include <stdint.h>

/* Largest request, in bytes; the size of each slot's buffer. */
#define FETCH_MAX_REQUEST (4u << 20)
/* Most slots a bridge may have (each holds FETCH_MAX_REQUEST bytes of
 * address space, touched only as far as requests use it). */
#define FETCH_MAX_INFLIGHT 1024u

typedef struct fetch_bridge fetch_bridge;

/* Called on the native thread that needs the bytes, without any bridge lock
 * held (a Deno thread-safe callback returns only once the JS thread has run
 * it, and that thread may be calling into the bridge). Must only start the
 * work and return. `buf` holds `length` bytes and
 * stays valid until fetch_bridge_complete(request_id) is called, or until
 * fetch_bridge_destroy; the owner must not touch it after either. */
typedef void (*fetch_start_fn)(uint64_t request_id, uint32_t blob_id,
                               uint64_t offset, uint64_t length, void *buf);

/* Makes a bridge with max_inflight (1..FETCH_MAX_INFLIGHT) request slots and
 * their buffers. Returns 0, OBD_E_INVAL or OBD_E_NOMEM. */
int fetch_bridge_create(fetch_start_fn start, uint32_t max_inflight,
                        fetch_bridge **out);

/* Fetches length (<= FETCH_MAX_REQUEST) bytes of blob_id at offset into buf,
 * waiting for a free slot first when all are busy. A thread marked as a
 * background reader (io_priority.h) also waits while only a quarter of the
 * slots (at least one) are free: those stay for demand reads. timeout_ms bounds the
 * whole wait (slot + fetch); 0 waits without limit. Returns length, or
 * OBD_E_IO when the owner reported a failure ("fetch of blob N [off,+len):
 * <message>"), a short result, a timeout ("... timed out after T ms") or the
 * bridge being destroyed; OBD_E_INVAL for a bad length. buf is written only
 * on success. */
int64_t fetch_bridge_fetch(fetch_bridge *b, uint32_t blob_id, uint64_t offset,
                           uint64_t length, void *buf, uint32_t timeout_ms);

/* Like fetch_bridge_fetch, but lends the slot's own buffer instead of
 * copying: on success *data points at the length bytes and *lease names the
 * slot, which stays busy until fetch_bridge_release(b, *lease). Lets a cache
 * write the bytes to disk and copy out the part a reader asked for without a
 * second buffer. */
int64_t fetch_bridge_borrow(fetch_bridge *b, uint32_t blob_id, uint64_t offset,
                            uint64_t length, uint32_t timeout_ms,
                            const uint8_t **data, uint32_t *lease);

/* Gives back a slot lent by fetch_bridge_borrow. */
void fetch_bridge_release(fetch_bridge *b, uint32_t lease);

/* Reports the end of request_id: result is the number of bytes written into
 * its buffer (anything but the requested length is a failure), or negative
 * for a failure described by message (may be NULL; cut at 255 bytes).
 * Returns 0 when the request was waiting, 1 when it is unknown or was given
 * up (timed out, bridge closing) — then the call is ignored, and the slot of
 * a given-up request becomes free again. */
int fetch_bridge_complete(fetch_bridge *b, uint64_t request_id, int64_t result,
                          const char *message);

/* Number of requests started and not yet completed or given up, for tests
 * and metrics. */
uint32_t fetch_bridge_pending(fetch_bridge *b);

/* Diagnostics: count fetches of `length` bytes of blob_id at offsets
 * 0, length, 2*length, ... one after the other on the calling thread,
 * storing each round trip in ns[i] (nanoseconds). Measures what one crossing
 * to the owner costs. Returns 0 or the first fetch error. */
int fetch_bridge_measure(fetch_bridge *b, uint32_t blob_id, uint64_t length,
                         uint32_t count, uint64_t *ns);

/* Fails every waiting request with OBD_E_IO, waits until no thread is inside
 * fetch/borrow, and frees the bridge (NULL is allowed). Leases must have been
 * released. The owner must not write into any request buffer once this has
 * started: settle or abandon its own work first, and drop calls to start()
 * that arrive late. */
void fetch_bridge_destroy(fetch_bridge *b);

#endif
