/* The last step of converting a layer (spec §7.3 step 5, §3): a committed
 * LSMT layer file compressed into a tar-wrapped ZFile — the blob a registry
 * stores — and the sha256 of that blob.
 *
 * The convertor commits each layer uncompressed first, so the next layer
 * can be applied on top of it at once, and packs it on a worker thread
 * (nonblocking FFI) in the meantime. The bytes are those of committing
 * straight into a ZFile sink: the same stream goes through the same writer.
 *
 * Thread-safety: any thread; calls on different files may run at once. */
#ifndef OBD_BLOB_PACK_H
#define OBD_BLOB_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "lsmt.h"

typedef struct blob_pack_result {
  uint64_t size;                       /* bytes of the blob */
  uint8_t sha256[DIGEST_SHA256_SIZE];  /* its digest */
} blob_pack_result;

/* Commits the writable layer l (spec §2.5) into the plain LSMT file
 * out_path with the given uuid and parent uuid (NULL: null uuid / the
 * layer's own), as `overlaybd-commit` without -z. l is borrowed, typically
 * from the image it was applied through, which must not be written
 * meanwhile: committing from the open layer spares reopening it, which for
 * a sparse layer whose data is not yet on disk means slow SEEK_DATA scans
 * of the page cache. out_path is not fsynced: it is a scratch file of the
 * conversion. A failure removes out_path and copies its detail into detail
 * (cap bytes) for the calling thread. */
int blob_commit(lsmt_rw *l, const char *out_path, const char *uuid,
                const char *parent_uuid, char *detail, size_t cap);

/* Compresses in_path into out_path (created 0644, truncated) as a ZFile with
 * algo (ZFILE_ALGO_LZ4 or ZFILE_ALGO_ZSTD), block_size (4096..65536, a power
 * of two) and per-block CRCs, wrapped in the one-file tar, then hashes it.
 * OBD_E_INVAL for bad options, the I/O error otherwise; a failure removes
 * out_path and copies its detail into detail (cap bytes, NUL-terminated; may
 * be NULL/0), since the caller's thread cannot read this one's. The blob is
 * not fsynced either: it is moved into a layout or pushed next. */
int blob_pack(const char *in_path, const char *out_path, uint8_t algo,
              uint32_t block_size, blob_pack_result *out, char *detail,
              size_t cap);

#endif
