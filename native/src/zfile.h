/* ZFile: seekable block-compressed files (spec §1).
 *
 * Layout: 512-byte header, blocks (each optionally followed by a 4-byte raw
 * CRC32C, seed 100007, of its compressed bytes), a jump table of u32 block
 * lengths, 512-byte trailer. A reader uses the header's index fields when the
 * header was rewritten (HEADER_OVERWRITE), otherwise the trailer's. */
#ifndef OBD_ZFILE_H
#define OBD_ZFILE_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"

#define ZFILE_RECORD_SIZE 512 /* §1.2 */
#define ZFILE_MAX_BLOCK_SIZE 65536u /* §1.2: reader rejects larger */
#define ZFILE_MIN_BLOCK_SIZE 4096u
#define ZFILE_MAX_INDEX_SIZE 1000000000ull /* §1.4 step 4 */

/* Flag bits, u64 at offset 32 (§1.3). Readers test bits 0..5 only. */
#define ZFILE_FLAG_HEADER 0x01u
#define ZFILE_FLAG_TYPE 0x02u
#define ZFILE_FLAG_SEALED 0x04u
#define ZFILE_FLAG_HEADER_OVERWRITE 0x08u
#define ZFILE_FLAG_DIGEST 0x10u
#define ZFILE_FLAG_IDX_COMP 0x20u

enum zfile_algo {
  ZFILE_ALGO_MINI_LZO = 0, /* declared by the format, never implemented */
  ZFILE_ALGO_LZ4 = 1,
  ZFILE_ALGO_ZSTD = 2,
};

/* One decoded header or trailer record (§1.2). */
typedef struct zfile_record {
  uint32_t digest;     /* as stored at offset 28 */
  uint64_t flags;      /* all 64 bits as stored; test with the masks above */
  uint64_t index_offset;
  uint64_t index_size; /* number of blocks */
  uint64_t original_file_size;
  uint32_t index_crc;
  uint32_t block_size;
  uint8_t algo;
  uint8_t level;
  uint8_t use_dict;
  uint8_t verify;      /* 1: every block is followed by its CRC */
  uint32_t dict_size;
} zfile_record;

/* Decodes the 512-byte record at buf. Checks len and both magics only (the
 * caller applies the §1.4 rules); OBD_E_FORMAT if the magics do not match.
 * Sets *digest_ok to 1 when the stored digest matches the record (meaningful
 * only when flags has DIGEST). */
int zfile_record_decode(const uint8_t *buf, size_t len, zfile_record *out,
                        int *digest_ok);

/* Encodes rec into 512 bytes at buf (cap >= 512), zeroing all padding, and
 * computes the digest when flags has DIGEST (rec->digest is ignored). */
int zfile_record_encode(const zfile_record *rec, uint8_t *buf, size_t cap);

/* 1 if the first 512 bytes of f are a ZFile header (magics + HEADER bit),
 * 0 if not, OBD_E_CORRUPT if they are but the DIGEST check fails, or an I/O
 * error. */
int zfile_detect(obd_file *f);

/* What a reader selected, for `inspect`. */
typedef struct zfile_info {
  zfile_record header;
  zfile_record trailer; /* valid when has_trailer */
  uint8_t has_trailer;  /* the trailer was read (header not rewritten) */
  uint64_t blocks;
  uint64_t data_offset; /* offset of block 0: 512 + dict_size */
} zfile_info;

/* Opens src as a ZFile and returns a decoder that is itself an obd_file of
 * original_file_size bytes. Reads check each block's CRC whenever the file
 * says verify=1; a mismatch or a block that fails to decompress is
 * OBD_E_CORRUPT with a detail naming the file, block number and compressed
 * offset; when src caches (obd_file_ops.invalidate), the block's bytes are
 * first dropped from that cache and read again, up to 3 times (§1.4), and
 * dropped once more on the final failure so a later read can heal.
 * Scratch buffers are allocated here, so reads never allocate; reads
 * may run on many threads at once (8 decode in parallel, others wait;
 * threads marked background, io_priority.h, use at most 6 of the 8). If own_src, src belongs to the decoder
 * from this call on: closing the decoder closes it, and so does a failed
 * open. */
int zfile_open(obd_file *src, int own_src, obd_file **out);

/* Fills *out for a file returned by zfile_open; OBD_E_INVAL for other files. */
int zfile_get_info(obd_file *z, zfile_info *out);

/* Checks every block's CRC and that it decompresses. Returns 0, or
 * OBD_E_CORRUPT with *bad_block set to the first damaged block. */
int zfile_verify(obd_file *z, uint64_t *bad_block);

typedef struct zfile_options {
  uint8_t algo;             /* ZFILE_ALGO_LZ4 (default) or ZFILE_ALGO_ZSTD */
  uint32_t block_size;      /* power of two, 4096..65536; default 4096 */
  uint8_t verify;           /* append per-block CRCs; default 1 */
  uint8_t overwrite_header; /* rewrite the header at close (0x1B); default 1 */
} zfile_options;

void zfile_options_default(zfile_options *opt);

/* Returns a sink that compresses what is written to it into `out`. Closing
 * it flushes the last block, writes the index and trailer, rewrites the
 * header when asked (and `out` can rewrite), then closes `out` if own_out.
 * After a failed write, close only releases resources and returns the error.
 * Zstd blocks use level 3, LZ4 blocks LZ4_compress_default (§1.5). Bad
 * options are OBD_E_INVAL. If own_out, `out` belongs to the writer from this
 * call on, and a failed open closes it. */
int zfile_writer_open(obd_sink *out, int own_out, const zfile_options *opt,
                      obd_sink **writer);

#endif
