/* LSMT block layers (spec §2).
 *
 * Vocabulary: a *segment* maps `length` sectors of the virtual device,
 * starting at sector `offset`, either to zeros (`zeroed`) or to `length`
 * sectors stored at sector `moffset` of a layer file. A *read-only layer* is a
 * committed (compacted, §2.5) or sealed (§2.8) file: header, data, sorted
 * index, trailer. A *writable layer* is a data file plus an append-only index
 * log (§2.6), or a single sparse data file (§2.7). Commit turns a writable
 * layer into a read-only layer.
 *
 * All offsets and lengths given to the read/write functions are bytes and
 * must be multiples of 512 (LSMT_SECTOR). */
#ifndef OBD_LSMT_H
#define OBD_LSMT_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"
#include "uuid.h"

#define LSMT_SECTOR 512u
#define LSMT_HEADER_SIZE 4096u                   /* §2.1 */
#define LSMT_SEG_SIZE 16u                        /* §2.3 */
#define LSMT_MAX_SEG_LENGTH 16383u               /* §2.4: 14-bit length */
#define LSMT_INVALID_OFFSET ((1ull << 50) - 1)   /* §2.3: padding record */
#define LSMT_MAX_RO_INDEX 1000000ull             /* §2.4 */
#define LSMT_MAX_RW_INDEX 128000000ull           /* §2.4 */
#define LSMT_MAX_STACK 255u                      /* §2.4 */
#define LSMT_MAX_IO (4u << 20)                   /* §2.4: RW write chunk */
#define LSMT_COMMIT_STEP 64u                     /* §2.5: sectors per copy step */
#define LSMT_INDEX_ALIGN 256u                    /* §2.5: records */

/* Flag bits, u32 at offset 28 (§2.2). */
#define LSMT_FLAG_HEADER 0x01u
#define LSMT_FLAG_DATA 0x02u
#define LSMT_FLAG_SEALED 0x04u
#define LSMT_FLAG_SPARSE 0x10u

/* A segment in its on-disk bit layout (§2.3), host byte order:
 * w0 = offset | length << 50, w1 = moffset | zeroed << 55 | tag << 56.
 * Kept packed in memory so a 1M-segment index costs 16 MB. */
typedef struct lsmt_seg {
  uint64_t w0;
  uint64_t w1;
} lsmt_seg;

_Static_assert(sizeof(lsmt_seg) == LSMT_SEG_SIZE, "segment is 16 bytes");

static inline uint64_t lsmt_seg_offset(lsmt_seg s) {
  return s.w0 & ((1ull << 50) - 1);
}
static inline uint32_t lsmt_seg_length(lsmt_seg s) {
  return (uint32_t)(s.w0 >> 50);
}
static inline uint64_t lsmt_seg_end(lsmt_seg s) {
  return lsmt_seg_offset(s) + lsmt_seg_length(s);
}
static inline uint64_t lsmt_seg_moffset(lsmt_seg s) {
  return s.w1 & ((1ull << 55) - 1);
}
static inline int lsmt_seg_zeroed(lsmt_seg s) { return (int)((s.w1 >> 55) & 1); }
static inline uint8_t lsmt_seg_tag(lsmt_seg s) { return (uint8_t)(s.w1 >> 56); }
static inline lsmt_seg lsmt_seg_make(uint64_t offset, uint32_t length,
                                     uint64_t moffset, int zeroed,
                                     uint8_t tag) {
  lsmt_seg s;
  s.w0 = (offset & ((1ull << 50) - 1)) | (uint64_t)length << 50;
  s.w1 = (moffset & ((1ull << 55) - 1)) | (uint64_t)(zeroed ? 1 : 0) << 55 |
         (uint64_t)tag << 56;
  return s;
}
static inline int lsmt_seg_valid(lsmt_seg s) {
  return lsmt_seg_offset(s) != LSMT_INVALID_OFFSET;
}

/* The part of s inside sectors [begin, end), which must overlap s. Trimming
 * the front of a data segment advances its moffset by the same amount;
 * zeroed segments keep theirs (§2.6). */
static inline lsmt_seg lsmt_seg_clip(lsmt_seg s, uint64_t begin, uint64_t end) {
  uint64_t off = lsmt_seg_offset(s), e = lsmt_seg_end(s), m = lsmt_seg_moffset(s);
  if (begin > off) {
    if (!lsmt_seg_zeroed(s)) m += begin - off;
    off = begin;
  }
  if (end < e) e = end;
  return lsmt_seg_make(off, (uint32_t)(e - off), m, lsmt_seg_zeroed(s),
                       lsmt_seg_tag(s));
}

/* Looks up sectors [offset, offset+length) in idx, an array of n segments
 * sorted by offset and non-overlapping (a read-only layer's index, or a
 * merged stack index). Binary-searches the first segment ending after
 * offset, then writes at most cap intersecting segments, clipped to the
 * range with lsmt_seg_clip, into out in ascending order; returns how many.
 * Gaps between them are holes. When the result fills cap, continue from the
 * end of the last segment. Never allocates; safe on shared idx from many
 * threads. length may run past 2^64 (it is clamped). */
size_t lsmt_index_lookup(const lsmt_seg *idx, size_t n, uint64_t offset,
                         uint64_t length, lsmt_seg *out, size_t cap);

/* Reads/writes one 16-byte record (len/cap must be >= 16). */
int lsmt_seg_decode(const uint8_t *buf, size_t len, lsmt_seg *out);
int lsmt_seg_encode(lsmt_seg s, uint8_t *buf, size_t cap);

/* One decoded 4096-byte header or trailer (§2.1). */
typedef struct lsmt_header {
  uint32_t flags;
  uint64_t index_offset; /* bytes */
  uint64_t index_size;   /* records */
  uint64_t virtual_size; /* bytes */
  char uuid[OBD_UUID_STR_SIZE];        /* as stored, NUL-terminated */
  char parent_uuid[OBD_UUID_STR_SIZE];
  uint8_t version;
  uint8_t sub_version;
  char user_tag[257]; /* NUL-terminated copy of the 256-byte field */
} lsmt_header;

/* Decodes; checks len and both magics only (OBD_E_FORMAT otherwise). */
int lsmt_header_decode(const uint8_t *buf, size_t len, lsmt_header *out);

/* Encodes into 4096 bytes, zero-filling all reserved space; size field 390,
 * version/sub_version as given. */
int lsmt_header_encode(const lsmt_header *in, uint8_t *buf, size_t cap);

/* ---- read-only layers (§2.10) ---- */

typedef struct lsmt_ro lsmt_ro;

/* Opens a committed or sealed layer from src (already unwrapped from tar and
 * ZFile). Validates as §2.10 says; tags are forced to 0 and padding (and
 * zero-length) records dropped. Errors name src and the offending record:
 * OBD_E_TRUNCATED when src is shorter than header + trailer, OBD_E_FORMAT
 * for a bad magic or flags (a missing trailer looks like this too),
 * OBD_E_CORRUPT for a bad index (size, order, overlap, moffset range).
 * If own_src, closing the layer closes src, and so does a failed open.
 * The index costs 16 bytes per record and is read through a 64 KiB buffer.
 * An open layer is immutable: any number of threads may use it. */
int lsmt_ro_open(obd_file *src, int own_src, lsmt_ro **out);

const lsmt_header *lsmt_ro_header(const lsmt_ro *l);  /* header at offset 0 */
const lsmt_header *lsmt_ro_trailer(const lsmt_ro *l); /* the one in force */
const lsmt_seg *lsmt_ro_index(const lsmt_ro *l, size_t *count);
obd_file *lsmt_ro_file(lsmt_ro *l);
void lsmt_ro_close(lsmt_ro *l);

/* ---- writable layers (§2.6, §2.7) ---- */

typedef struct lsmt_rw lsmt_rw;

typedef struct lsmt_rw_options {
  uint64_t virtual_size;   /* bytes; 0 = inherit from the stack below */
  int sparse;              /* §2.7 single sparse data file */
  const char *uuid;        /* NULL = random */
  const char *parent_uuid; /* NULL = null UUID */
} lsmt_rw_options;

/* Creates both files exclusively (OBD_E_EXISTS if either exists; a file this
 * call created is removed again when it fails). opt NULL = all defaults;
 * an invalid uuid or parent_uuid string is OBD_E_INVAL. For a sparse layer
 * the index file is created empty and ignored, and index_path may be NULL.
 *
 * A writable layer is not thread-safe: writes, discards and
 * set_virtual_size need external serialisation with everything else;
 * preads, lookups and data-file reads may run concurrently with each other
 * (they never allocate). */
int lsmt_rw_create(const char *data_path, const char *index_path,
                   const lsmt_rw_options *opt, lsmt_rw **out);

/* Opens an existing writable layer, replaying its index log (§2.6) or
 * scanning its sparse data file (§2.7; index_path is then ignored and may be
 * NULL). OBD_E_NOTFOUND for a missing file, OBD_E_TRUNCATED for a file
 * shorter than a header, OBD_E_FORMAT for a bad magic or header flags,
 * OBD_E_CORRUPT for a log record whose moffset lies outside the data file.
 * A torn last log record is ignored. Files we may not write are opened
 * read-only: the layer can be read and committed, writes fail with
 * OBD_E_READONLY. */
int lsmt_rw_open(const char *data_path, const char *index_path, lsmt_rw **out);

/* Writes n bytes at virtual offset off (both 512-aligned, else
 * OBD_E_INVAL; the end must stay below 2^50 sectors, else OBD_E_RANGE),
 * split into 4 MiB pieces; each piece is appended to the data file and
 * logged with `tag` (the number of read-only layers below when stacked,
 * else 0). A sparse layer writes in place at 4096 + off instead. Returns n
 * or a negative obd_err; after a failure, earlier pieces may have landed. */
int64_t lsmt_rw_pwrite(lsmt_rw *l, const void *buf, size_t n, uint64_t off,
                       uint8_t tag);

/* Discards [off, off+n): logs zeroed segments of at most 16383 sectors
 * (append), or punches a hole (sparse). Either way the range reads as zeros
 * and, in memory, is a zeroed segment that hides lower layers; a reopened
 * sparse layer sees a hole instead (§2.7). */
int lsmt_rw_discard(lsmt_rw *l, uint64_t off, uint64_t n, uint8_t tag);

/* Reads the layer alone (holes and zeroed ranges read as zeros). */
int64_t lsmt_rw_pread(lsmt_rw *l, void *buf, size_t n, uint64_t off);

/* A sorted, non-overlapping copy of the current index, allocated with
 * obd_malloc (caller frees with obd_free). Tags are set to `tag`. */
int lsmt_rw_index(lsmt_rw *l, uint8_t tag, lsmt_seg **out, size_t *count);

/* Looks up [offset, offset+length) sectors; writes at most cap clipped
 * segments into out and returns how many, in order (continue from the end
 * of the last one when it returns cap). Tags are as given to pwrite/discard
 * since open; records replayed at open carry tag 0. Never allocates. */
size_t lsmt_rw_lookup(lsmt_rw *l, uint64_t offset, uint64_t length,
                      lsmt_seg *out, size_t cap);

/* The data file as an obd_file (owned by the layer; closing it does
 * nothing): where moffsets point. Its reads go to the file's current end,
 * which moves as the layer is written, so `size` is only a hint. */
obd_file *lsmt_rw_data_file(lsmt_rw *l);

/* The data file's header as on disk. Writes past virtual_size do not change
 * it (§2.6: that growth is not persisted). */
const lsmt_header *lsmt_rw_header(const lsmt_rw *l);

/* Rewrites the virtual size in both headers (used when a layer created with
 * virtual size 0 is stacked, §2.12 step 4); a sparse data file is grown to
 * vsize + 4096 (never shrunk). OBD_E_READONLY if opened read-only. */
int lsmt_rw_set_virtual_size(lsmt_rw *l, uint64_t vsize);

/* Flushes and closes both files and frees the layer (NULL is allowed).
 * Returns the first fsync/close failure; the layer is gone either way. */
int lsmt_rw_close(lsmt_rw *l);

/* sync 0 makes close skip the fsync: for scratch layers that are committed
 * and deleted at once (the convertor), where forcing hundreds of megabytes
 * to disk only to delete them costs seconds. Default 1. */
void lsmt_rw_set_sync(lsmt_rw *l, int sync);

/* ---- commit (§2.5) ---- */

typedef struct lsmt_commit_options {
  const char *uuid;        /* NULL or invalid = null UUID */
  const char *parent_uuid; /* NULL or invalid = the source's parent UUID */
  const char *user_tag;    /* NULL = empty; at most 256 bytes kept */
} lsmt_commit_options;

/* Compacts a writable layer into a committed layer written to `out`:
 * header 0x07, data copied in 64-sector steps, greedily merged index padded
 * to 256 records, trailer 0x06 — byte-identical to the reference writer.
 * Record tags are 0 (a one-layer commit); virtual_size is the one in the
 * source's data-file header. opt NULL = all defaults. Data goes through one
 * 1 MiB buffer; the merged index is kept in memory (16 bytes per record)
 * until it is written after the data. The sink is only appended to. */
int lsmt_commit(lsmt_rw *l, obd_sink *out, const lsmt_commit_options *opt);

/* ---- seal (§2.8) ---- */

/* Seals the writable layer data_path (+ index_path; NULL for a sparse layer)
 * in place, as `overlaybd-commit --seal` does: appends the current index
 * (sorted, tags 0, zeroed records kept, not merged) at the 512-aligned end
 * of the data file, zero-padded to a 512-byte multiple, then a trailer
 * (flags data|sealed, index_size = record count, the layer's UUIDs and
 * virtual size, empty user tag). The header at offset 0 is left as it is.
 * The result opens with lsmt_ro_open; the index file is no longer needed.
 * A file that already ends in this layer's seal trailer is left alone, so a
 * seal interrupted after its trailer landed can simply be run again.
 * Returns the number of index records, or a negative obd_err: OBD_E_FORMAT
 * when data_path is not a writable data file, OBD_E_RANGE for more records
 * than a read-only layer may hold (LSMT_MAX_RO_INDEX). Not thread-safe with
 * anything else using the layer's files. */
int64_t lsmt_seal(const char *data_path, const char *index_path);

#endif
