/* The uncompressed tar of an OCI layer blob, decoded on a thread of its own
 * so that decompression overlaps with applying the entries (spec §7.3).
 *
 * The blob is a plain, gzip or zstd tar, told by its first bytes. gzip is
 * inflated with ISA-L (≈ 3.5× zlib here; concatenated members are read
 * one after another, trailing zero bytes ignored, the CRC-32 of each member
 * checked), zstd with libzstd's streaming decoder. While decoding, the
 * thread computes the sha256 of the blob bytes and of the tar bytes, so the
 * caller can check the layer digest and the config's diff_id without
 * reading anything twice.
 *
 * The decoded bytes wait in a bounded queue of 1 MiB chunks (`ahead`
 * bytes): the thread stops when the queue is full and goes on as the
 * reader takes chunks, so memory stays bounded whatever the layer's size.
 *
 * Lifecycle: layer_tar_open starts the thread; layer_tar_read until it
 * returns 0 (end, the digests are final) or an error; layer_tar_close stops
 * the thread (also early) and frees everything.
 *
 * Thread-safety: one reader at a time (it may be any thread: read is
 * called through nonblocking FFI); layer_tar_get_info may run beside it. */
#ifndef OBD_LAYER_TAR_H
#define OBD_LAYER_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

typedef struct layer_tar layer_tar;

/* Compression of a blob. */
enum {
  LAYER_TAR_PLAIN = 0,
  LAYER_TAR_GZIP = 1,
  LAYER_TAR_ZSTD = 2,
};

#define LAYER_TAR_CHUNK (1u << 20)

/* A snapshot of the decoder's progress. */
typedef struct layer_tar_info {
  uint64_t blob_size;  /* bytes of the blob file */
  uint64_t blob_bytes; /* blob bytes decoded so far */
  uint64_t tar_bytes;  /* tar bytes produced so far */
  uint32_t compression;
  uint32_t done;       /* 1 once the whole blob was decoded: digests final */
  uint8_t blob_sha256[DIGEST_SHA256_SIZE];
  uint8_t tar_sha256[DIGEST_SHA256_SIZE];
} layer_tar_info;

/* Opens the blob at path and starts decoding it; `ahead` is the queue size
 * in bytes (rounded up to whole chunks, at least 2). OBD_E_NOTFOUND or
 * OBD_E_IO when the file cannot be opened, OBD_E_NOMEM. */
int layer_tar_open(const char *path, size_t ahead, layer_tar **out);

/* Copies the next 1..cap decoded bytes into buf, waiting for the decoder
 * when none are ready. Returns the count, 0 at the end of a blob decoded
 * whole, or the decoder's failure once the bytes before it were read:
 * OBD_E_CORRUPT (bad deflate/zstd data, CRC mismatch, trailing garbage),
 * OBD_E_TRUNCATED (the blob ends inside a stream), OBD_E_IO. The failure's
 * detail, naming the blob and the offset, is layer_tar_error(). */
int64_t layer_tar_read(layer_tar *t, void *buf, size_t cap);

/* The detail of the failure layer_tar_read returned ("" if none); valid
 * until close. */
const char *layer_tar_error(layer_tar *t);

/* Fills *out with the progress so far. */
void layer_tar_get_info(layer_tar *t, layer_tar_info *out);

/* Stops the decoder (waiting for its thread) and frees t; NULL is allowed. */
void layer_tar_close(layer_tar *t);

#endif
