/* Read-only LSMT layers: committed (§2.5) and sealed (§2.8) files, opened
 * as §2.10 says. */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"

struct lsmt_ro {
  obd_file *src;
  int own_src;
  lsmt_header header;
  lsmt_header trailer;
  lsmt_seg *index; /* sorted, non-overlapping, tags 0, no padding */
  size_t count;
};

/* Index bytes are decoded through a bounded buffer, so a 1M-record index
 * costs its 16 MB array and nothing more. */
#define INDEX_READ_STEP 4096u /* records */

size_t lsmt_index_lookup(const lsmt_seg *idx, size_t n, uint64_t offset,
                         uint64_t length, lsmt_seg *out, size_t cap) {
  uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
  size_t lo = 0, hi = n, got = 0;
  if (end == offset) return 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (lsmt_seg_end(idx[mid]) > offset)
      hi = mid;
    else
      lo = mid + 1;
  }
  for (; lo < n && got < cap && lsmt_seg_offset(idx[lo]) < end; lo++)
    out[got++] = lsmt_seg_clip(idx[lo], offset, end);
  return got;
}

static int read_header(obd_file *src, uint64_t off, lsmt_header *out) {
  uint8_t buf[LSMT_HEADER_SIZE];
  OBD_TRY(obd_file_read_exact(src, buf, sizeof buf, off));
  int rc = lsmt_header_decode(buf, sizeof buf, out);
  if (rc < 0)
    return obd_fail(rc, "%s: no LSMT %s at offset %llu (bad magic%s)", src->name,
                    off ? "trailer" : "header", (unsigned long long)off,
                    off ? "; truncated, or not sealed" : "");
  return 0;
}

/* §2.10 steps 1-2. */
static int check_header_trailer(const lsmt_ro *l) {
  const obd_file *src = l->src;
  uint64_t trailer_off = src->size - LSMT_HEADER_SIZE;
  const lsmt_header *t = &l->trailer;
  uint32_t hf = l->header.flags, tf = t->flags;
  if (!(hf & LSMT_FLAG_HEADER) || !(hf & LSMT_FLAG_DATA))
    return obd_fail(OBD_E_FORMAT, "%s: header flags 0x%x: not a data-file header",
                    src->name, hf);
  if ((tf & LSMT_FLAG_HEADER) || !(tf & LSMT_FLAG_DATA) || !(tf & LSMT_FLAG_SEALED))
    return obd_fail(OBD_E_FORMAT,
                    "%s: trailer flags 0x%x at offset %llu: want data|sealed, not header",
                    src->name, tf, (unsigned long long)trailer_off);
  if (t->index_size > LSMT_MAX_RO_INDEX)
    return obd_fail(OBD_E_CORRUPT, "%s: trailer index_size %llu exceeds %llu",
                    src->name, (unsigned long long)t->index_size,
                    LSMT_MAX_RO_INDEX);
  if (t->index_offset > trailer_off ||
      t->index_size * LSMT_SEG_SIZE > trailer_off - t->index_offset)
    return obd_fail(OBD_E_CORRUPT,
                    "%s: index of %llu records at offset %llu passes the trailer at %llu",
                    src->name, (unsigned long long)t->index_size,
                    (unsigned long long)t->index_offset,
                    (unsigned long long)trailer_off);
  return 0;
}

/* §2.10 step 3 and the §2.3 moffset ranges for record number rec of the
 * file, which follows the previously kept record prev (NULL for the first).
 * data_end is where the index starts: zeroed records may point there, data
 * records must end there or before. */
static int check_record(const lsmt_ro *l, const lsmt_seg *prev, lsmt_seg s,
                        uint64_t rec) {
  uint64_t data_end = l->trailer.index_offset / LSMT_SECTOR;
  uint64_t m = lsmt_seg_moffset(s), first = LSMT_HEADER_SIZE / LSMT_SECTOR;
  uint64_t at = l->trailer.index_offset + rec * LSMT_SEG_SIZE;
  const char *why = NULL;
  if (prev && lsmt_seg_end(*prev) > lsmt_seg_offset(s))
    why = "overlaps or precedes the previous record";
  else if (m < first)
    why = "moffset points into the header";
  else if (m > data_end ||
           (!lsmt_seg_zeroed(s) && lsmt_seg_length(s) > data_end - m))
    why = "moffset range passes the end of the data";
  if (!why) return 0;
  return obd_fail(OBD_E_CORRUPT,
                  "%s: index record %llu at offset %llu {offset %llu, length %u, "
                  "moffset %llu, zeroed %d}: %s",
                  l->src->name, (unsigned long long)rec, (unsigned long long)at,
                  (unsigned long long)lsmt_seg_offset(s), lsmt_seg_length(s),
                  (unsigned long long)m, lsmt_seg_zeroed(s), why);
}

/* Decodes n records read from file record number first into l->index,
 * dropping padding records and forcing tags to 0. Zero-length records are
 * dropped too: they map nothing, and lookups assume every segment has an
 * end past its offset. */
static int take_records(lsmt_ro *l, const uint8_t *buf, size_t n, uint64_t first) {
  for (size_t i = 0; i < n; i++) {
    lsmt_seg s;
    OBD_TRY(lsmt_seg_decode(buf + i * LSMT_SEG_SIZE, LSMT_SEG_SIZE, &s));
    if (!lsmt_seg_valid(s) || lsmt_seg_length(s) == 0) continue;
    s = lsmt_seg_make(lsmt_seg_offset(s), lsmt_seg_length(s),
                      lsmt_seg_moffset(s), lsmt_seg_zeroed(s), 0);
    const lsmt_seg *prev = l->count ? &l->index[l->count - 1] : NULL;
    OBD_TRY(check_record(l, prev, s, first + i));
    l->index[l->count++] = s;
  }
  return 0;
}

static int load_index(lsmt_ro *l) {
  uint64_t total = l->trailer.index_size;
  l->index = obd_malloc((size_t)total * sizeof *l->index);
  uint8_t *buf = obd_malloc(INDEX_READ_STEP * LSMT_SEG_SIZE);
  int rc = 0;
  if (!l->index || !buf)
    rc = obd_fail(OBD_E_NOMEM, "%s: index of %llu records", l->src->name,
                  (unsigned long long)total);
  for (uint64_t done = 0; rc == 0 && done < total; done += INDEX_READ_STEP) {
    size_t n = (size_t)(total - done < INDEX_READ_STEP ? total - done : INDEX_READ_STEP);
    rc = obd_file_read_exact(l->src, buf, n * LSMT_SEG_SIZE,
                             l->trailer.index_offset + done * LSMT_SEG_SIZE);
    if (rc == 0) rc = take_records(l, buf, n, done);
  }
  obd_free(buf);
  return rc;
}

static int open_layer(lsmt_ro *l) {
  obd_file *src = l->src;
  if (src->size < 2 * LSMT_HEADER_SIZE)
    return obd_fail(OBD_E_TRUNCATED,
                    "%s: %llu bytes, too short for an LSMT header and trailer",
                    src->name, (unsigned long long)src->size);
  OBD_TRY(read_header(src, 0, &l->header));
  OBD_TRY(read_header(src, src->size - LSMT_HEADER_SIZE, &l->trailer));
  OBD_TRY(check_header_trailer(l));
  return load_index(l);
}

int lsmt_ro_open(obd_file *src, int own_src, lsmt_ro **out) {
  lsmt_ro *l = obd_calloc(1, sizeof *l);
  if (!l) {
    int rc = obd_fail(OBD_E_NOMEM, "%s: open layer", src->name);
    if (own_src) obd_file_close(src);
    return rc;
  }
  l->src = src;
  l->own_src = own_src;
  int rc = open_layer(l);
  if (rc < 0) {
    lsmt_ro_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

const lsmt_header *lsmt_ro_header(const lsmt_ro *l) { return &l->header; }
const lsmt_header *lsmt_ro_trailer(const lsmt_ro *l) { return &l->trailer; }

const lsmt_seg *lsmt_ro_index(const lsmt_ro *l, size_t *count) {
  *count = l->count;
  return l->index;
}

obd_file *lsmt_ro_file(lsmt_ro *l) { return l->src; }

void lsmt_ro_close(lsmt_ro *l) {
  if (!l) return;
  if (l->own_src) obd_file_close(l->src);
  obd_free(l->index);
  obd_free(l);
}
