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
 * ZFile). Validates as §2.10 says; tags are forced to 0 and padding records
 * dropped. Errors name src and the offending record. If own_src, closing the
 * layer closes src. */
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

/* Creates both files exclusively (OBD_E_EXISTS if either exists). For a
 * sparse layer the index file is created empty and ignored. */
int lsmt_rw_create(const char *data_path, const char *index_path,
                   const lsmt_rw_options *opt, lsmt_rw **out);

/* Opens an existing writable layer, replaying its index log (§2.6) or
 * scanning its sparse data file (§2.7). */
int lsmt_rw_open(const char *data_path, const char *index_path, lsmt_rw **out);

/* Writes n bytes at virtual offset off (both 512-aligned), split into 4 MiB
 * pieces; each piece is appended to the data file and logged with `tag`
 * (the number of read-only layers below when stacked, else 0). Returns n or a
 * negative obd_err. */
int64_t lsmt_rw_pwrite(lsmt_rw *l, const void *buf, size_t n, uint64_t off,
                       uint8_t tag);

/* Discards [off, off+n): logs zeroed segments (append) or punches a hole
 * (sparse). */
int lsmt_rw_discard(lsmt_rw *l, uint64_t off, uint64_t n, uint8_t tag);

/* Reads the layer alone (holes and zeroed ranges read as zeros). */
int64_t lsmt_rw_pread(lsmt_rw *l, void *buf, size_t n, uint64_t off);

/* A sorted, non-overlapping copy of the current index, allocated with
 * obd_malloc (caller frees with obd_free). Tags are set to `tag`. */
int lsmt_rw_index(lsmt_rw *l, uint8_t tag, lsmt_seg **out, size_t *count);

/* Looks up [offset, offset+length) sectors; writes at most cap clipped
 * segments (tags as logged) into out and returns how many, in order. */
size_t lsmt_rw_lookup(lsmt_rw *l, uint64_t offset, uint64_t length,
                      lsmt_seg *out, size_t cap);

/* The data file as an obd_file (owned by the layer): where moffsets point. */
obd_file *lsmt_rw_data_file(lsmt_rw *l);

const lsmt_header *lsmt_rw_header(const lsmt_rw *l);

/* Rewrites the virtual size in both headers (used when a layer created with
 * virtual size 0 is stacked, §2.12 step 4). */
int lsmt_rw_set_virtual_size(lsmt_rw *l, uint64_t vsize);

/* Flushes and closes both files. */
int lsmt_rw_close(lsmt_rw *l);

/* ---- commit (§2.5) ---- */

typedef struct lsmt_commit_options {
  const char *uuid;        /* NULL or invalid = null UUID */
  const char *parent_uuid; /* NULL or invalid = the source's parent UUID */
  const char *user_tag;    /* NULL = empty; at most 256 bytes kept */
} lsmt_commit_options;

/* Compacts a writable layer into a committed layer written to `out`:
 * header 0x07, data copied in 64-sector steps, greedily merged index padded
 * to 256 records, trailer 0x06 — byte-identical to the reference writer. */
int lsmt_commit(lsmt_rw *l, obd_sink *out, const lsmt_commit_options *opt);

#endif
