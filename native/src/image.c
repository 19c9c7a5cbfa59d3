/* The merged read view of a layer stack (spec §2.12). */
#include "image.h"

#include <string.h>

#include "alloc.h"
#include "error.h"

/* Segments fetched per lookup on the read path: bounded stack scratch, so a
 * read of any size loops instead of allocating. */
#define IMAGE_SEG_BUF 64u
/* §2.4: virtual offsets are 50-bit sector numbers. */
#define IMAGE_END_SECTOR (1ull << 50)

struct obd_image {
  lsmt_rw *upper;  /* NULL for a read-only image */
  lsmt_seg *index; /* merged read-only index; tag = position in top[] */
  size_t count;
  uint64_t vsize;
  size_t n;          /* read-only layers */
  lsmt_ro *top[];    /* §2.12 step 2: the lowers reversed, top[0] = topmost */
};

/* ---- merge (§2.12 step 3) ---- */

typedef struct merge_ctx {
  const lsmt_seg *idx[LSMT_MAX_STACK]; /* by tag */
  size_t cnt[LSMT_MAX_STACK];
  size_t n;
  lsmt_seg *out; /* NULL while counting */
  size_t count;
} merge_ctx;

static int merge_range(merge_ctx *c, size_t level, uint64_t start, uint64_t end);

/* A range no layer above `level` maps: the layers below fill it, else it
 * stays a hole. */
static int merge_gap(merge_ctx *c, size_t level, uint64_t start, uint64_t end) {
  return level < c->n ? merge_range(c, level, start, end) : 0;
}

static int merge_emit(merge_ctx *c, lsmt_seg s, size_t level) {
  if (c->count >= LSMT_MAX_RW_INDEX)
    return obd_fail(OBD_E_RANGE, "image: merged index passes %llu segments",
                    (unsigned long long)LSMT_MAX_RW_INDEX);
  if (c->out)
    c->out[c->count] =
        lsmt_seg_make(lsmt_seg_offset(s), lsmt_seg_length(s),
                      lsmt_seg_moffset(s), lsmt_seg_zeroed(s), (uint8_t)level);
  c->count++;
  return 0;
}

/* Upper wins: every segment of layer `level` inside [start, end) is kept
 * (zeroed ones too, hiding what is below); only its gaps go further down.
 * Clipping never lengthens a segment, so lengths stay <= 16383. Recursion
 * depth is bounded by the number of layers (<= 255). */
static int merge_range(merge_ctx *c, size_t level, uint64_t start,
                       uint64_t end) {
  uint64_t cur = start;
  lsmt_seg s;
  while (cur < end && lsmt_index_lookup(c->idx[level], c->cnt[level], cur,
                                        end - cur, &s, 1) == 1) {
    uint64_t off = lsmt_seg_offset(s);
    if (off > cur) OBD_TRY(merge_gap(c, level + 1, cur, off));
    OBD_TRY(merge_emit(c, s, level));
    cur = lsmt_seg_end(s);
  }
  return cur < end ? merge_gap(c, level + 1, cur, end) : 0;
}

/* Two passes, count then fill, so the index is one exact allocation. */
static int merge_indexes(obd_image *img) {
  merge_ctx c;
  memset(&c, 0, sizeof c);
  c.n = img->n;
  for (size_t t = 0; t < img->n; t++)
    c.idx[t] = lsmt_ro_index(img->top[t], &c.cnt[t]);
  if (img->n > 0) OBD_TRY(merge_range(&c, 0, 0, IMAGE_END_SECTOR));
  img->index = obd_malloc(c.count * sizeof *img->index);
  if (!img->index)
    return obd_fail(OBD_E_NOMEM, "image: merged index of %zu segments", c.count);
  c.out = img->index;
  c.count = 0;
  if (img->n > 0) OBD_TRY(merge_range(&c, 0, 0, IMAGE_END_SECTOR));
  img->count = c.count;
  return 0;
}

/* §2.12 step 1 and 4: the topmost non-zero virtual size; an upper created
 * with size 0 inherits the lowers' and has its headers rewritten. */
static int settle_size(obd_image *img) {
  uint64_t lower = 0;
  for (size_t t = 0; t < img->n && lower == 0; t++)
    lower = lsmt_ro_trailer(img->top[t])->virtual_size;
  img->vsize = lower;
  if (!img->upper) return 0;
  uint64_t up = lsmt_rw_header(img->upper)->virtual_size;
  if (up != 0) {
    img->vsize = up;
    return 0;
  }
  if (lower == 0) return 0;
  int rc = lsmt_rw_set_virtual_size(img->upper, lower);
  return rc < 0 ? obd_fail_wrap(rc, "image: inheriting virtual size %llu",
                                (unsigned long long)lower)
                : 0;
}

static void close_layers(lsmt_ro **lowers, size_t n, lsmt_rw *upper) {
  for (size_t i = 0; i < n; i++) lsmt_ro_close(lowers[i]);
  if (upper) lsmt_rw_close(upper);
}

int obd_image_open(lsmt_ro **lowers, size_t n, lsmt_rw *upper,
                   obd_image **out) {
  obd_image *img = NULL;
  int rc = 0;
  if (n > LSMT_MAX_STACK)
    rc = obd_fail(OBD_E_RANGE, "image: %zu read-only layers (at most %u)", n,
                  LSMT_MAX_STACK);
  else if (n == 0 && !upper)
    rc = obd_fail(OBD_E_INVAL, "image: no layers");
  else if (!(img = obd_calloc(1, sizeof *img + n * sizeof img->top[0])))
    rc = obd_fail(OBD_E_NOMEM, "image: %zu layers", n);
  if (rc < 0) {
    close_layers(lowers, n, upper);
    return rc;
  }
  for (size_t t = 0; t < n; t++) img->top[t] = lowers[n - 1 - t];
  img->n = n;
  img->upper = upper;
  rc = merge_indexes(img);
  if (rc == 0) rc = settle_size(img);
  if (rc < 0) {
    obd_image_close(img);
    return rc;
  }
  *out = img;
  return 0;
}

uint64_t obd_image_size(const obd_image *img) { return img->vsize; }

size_t obd_image_segment_count(const obd_image *img) { return img->count; }

size_t obd_image_lower_count(const obd_image *img) { return img->n; }

obd_file *obd_image_lower_file(obd_image *img, size_t index) {
  return index < img->n ? lsmt_ro_file(img->top[img->n - 1 - index]) : NULL;
}

/* ---- reads (§2.11, §2.12 step 4) ---- */

/* buf holds the sector `base` at byte 0; [s, e) lies inside it. */
static void zero_sectors(uint8_t *buf, uint64_t base, uint64_t s, uint64_t e) {
  if (s < e)
    memset(buf + (s - base) * LSMT_SECTOR, 0, (size_t)(e - s) * LSMT_SECTOR);
}

static int read_seg(uint8_t *buf, uint64_t base, lsmt_seg s, obd_file *f) {
  uint64_t off = lsmt_seg_offset(s);
  uint8_t *dst = buf + (off - base) * LSMT_SECTOR;
  size_t len = (size_t)lsmt_seg_length(s) * LSMT_SECTOR;
  if (lsmt_seg_zeroed(s)) {
    memset(dst, 0, len);
    return 0;
  }
  int64_t got = obd_file_pread(f, dst, len, lsmt_seg_moffset(s) * LSMT_SECTOR);
  if (got < 0)
    return obd_fail_wrap((int)got, "layer %s at virtual offset %llu", f->name,
                         (unsigned long long)(off * LSMT_SECTOR));
  /* §2.11: what lies past the end of the layer file reads as zeros. */
  if ((size_t)got < len) memset(dst + got, 0, len - (size_t)got);
  return 0;
}

/* Sectors [s, e) from the merged read-only index. */
static int read_lowers(obd_image *img, uint8_t *buf, uint64_t base,
                       uint64_t s, uint64_t e) {
  lsmt_seg segs[IMAGE_SEG_BUF];
  uint64_t cur = s;
  while (cur < e) {
    size_t k = lsmt_index_lookup(img->index, img->count, cur, e - cur, segs,
                                 IMAGE_SEG_BUF);
    for (size_t i = 0; i < k; i++) {
      zero_sectors(buf, base, cur, lsmt_seg_offset(segs[i]));
      lsmt_ro *layer = img->top[lsmt_seg_tag(segs[i])];
      OBD_TRY(read_seg(buf, base, segs[i], lsmt_ro_file(layer)));
      cur = lsmt_seg_end(segs[i]);
    }
    if (k < IMAGE_SEG_BUF) break;
  }
  zero_sectors(buf, base, cur, e);
  return 0;
}

/* Sectors [s, e): the writable layer's segments, its gaps from below. */
static int read_upper(obd_image *img, uint8_t *buf, uint64_t s, uint64_t e) {
  lsmt_seg segs[IMAGE_SEG_BUF];
  obd_file *data = lsmt_rw_data_file(img->upper);
  uint64_t cur = s;
  while (cur < e) {
    size_t k = lsmt_rw_lookup(img->upper, cur, e - cur, segs, IMAGE_SEG_BUF);
    for (size_t i = 0; i < k; i++) {
      uint64_t off = lsmt_seg_offset(segs[i]);
      if (off > cur) OBD_TRY(read_lowers(img, buf, s, cur, off));
      OBD_TRY(read_seg(buf, s, segs[i], data));
      cur = lsmt_seg_end(segs[i]);
    }
    if (k < IMAGE_SEG_BUF) break;
  }
  return cur < e ? read_lowers(img, buf, s, cur, e) : 0;
}

int64_t obd_image_pread(obd_image *img, void *buf, size_t n, uint64_t off) {
  if (off % LSMT_SECTOR != 0 || n % LSMT_SECTOR != 0)
    return obd_fail(OBD_E_INVAL,
                    "image: read of %zu bytes at offset %llu is not %u-aligned",
                    n, (unsigned long long)off, LSMT_SECTOR);
  if (off >= img->vsize) return 0;
  /* Whole sectors only, and a count the int64_t result can carry. */
  uint64_t left = (img->vsize - off) / LSMT_SECTOR * LSMT_SECTOR;
  uint64_t max = (uint64_t)INT64_MAX / LSMT_SECTOR * LSMT_SECTOR;
  if (n > left) n = (size_t)left;
  if (n > max) n = (size_t)max;
  uint64_t s = off / LSMT_SECTOR, e = s + n / LSMT_SECTOR;
  int rc = img->upper ? read_upper(img, buf, s, e)
                      : read_lowers(img, buf, s, s, e);
  return rc < 0 ? rc : (int64_t)n;
}

/* ---- data extents ---- */

/* The first data segment of the merged read-only index inside [s, e). */
static int first_data_lowers(const obd_image *img, uint64_t s, uint64_t e,
                             lsmt_seg *out) {
  lsmt_seg segs[IMAGE_SEG_BUF];
  uint64_t cur = s;
  while (cur < e) {
    size_t k = lsmt_index_lookup(img->index, img->count, cur, e - cur, segs,
                                 IMAGE_SEG_BUF);
    for (size_t i = 0; i < k; i++) {
      if (!lsmt_seg_zeroed(segs[i])) {
        *out = segs[i];
        return 1;
      }
      cur = lsmt_seg_end(segs[i]);
    }
    if (k < IMAGE_SEG_BUF) break;
  }
  return 0;
}

/* The first data segment of the whole view inside [s, e): the writable
 * layer's own, or one from below showing through its gaps. */
static int first_data(obd_image *img, uint64_t s, uint64_t e, lsmt_seg *out) {
  if (!img->upper) return first_data_lowers(img, s, e, out);
  lsmt_seg segs[IMAGE_SEG_BUF];
  uint64_t cur = s;
  while (cur < e) {
    size_t k = lsmt_rw_lookup(img->upper, cur, e - cur, segs, IMAGE_SEG_BUF);
    for (size_t i = 0; i < k; i++) {
      uint64_t off = lsmt_seg_offset(segs[i]);
      if (off > cur && first_data_lowers(img, cur, off, out)) return 1;
      if (!lsmt_seg_zeroed(segs[i])) {
        *out = segs[i];
        return 1;
      }
      cur = lsmt_seg_end(segs[i]);
    }
    if (k < IMAGE_SEG_BUF) break;
  }
  return cur < e ? first_data_lowers(img, cur, e, out) : 0;
}

int obd_image_next_data(obd_image *img, uint64_t off, uint64_t *start,
                        uint64_t *end) {
  uint64_t e = img->vsize / LSMT_SECTOR;
  lsmt_seg seg;
  if (!first_data(img, off / LSMT_SECTOR, e, &seg)) return 0;
  uint64_t run_start = lsmt_seg_offset(seg), run_end = lsmt_seg_end(seg);
  /* Adjacent data segments, from any layer, form one run. */
  while (run_end < e && first_data(img, run_end, run_end + 1, &seg))
    run_end = lsmt_seg_end(seg);
  *start = run_start * LSMT_SECTOR;
  *end = run_end * LSMT_SECTOR;
  return 1;
}

/* ---- writes (§2.12 step 4: only the writable layer changes) ---- */

static int check_write(const obd_image *img, const char *what, uint64_t off,
                       uint64_t n) {
  if (!img->upper)
    return obd_fail(OBD_E_READONLY, "image: %s at offset %llu: no writable layer",
                    what, (unsigned long long)off);
  if (off > img->vsize || n > img->vsize - off)
    return obd_fail(OBD_E_RANGE,
                    "image: %s of %llu bytes at offset %llu passes the virtual size %llu",
                    what, (unsigned long long)n, (unsigned long long)off,
                    (unsigned long long)img->vsize);
  return 0;
}

int64_t obd_image_pwrite(obd_image *img, const void *buf, size_t n,
                         uint64_t off) {
  OBD_TRY(check_write(img, "write", off, n));
  /* §2.6: a stacked write is logged with the number of layers below. */
  return lsmt_rw_pwrite(img->upper, buf, n, off, (uint8_t)img->n);
}

int obd_image_discard(obd_image *img, uint64_t off, uint64_t n) {
  OBD_TRY(check_write(img, "discard", off, n));
  return lsmt_rw_discard(img->upper, off, n, (uint8_t)img->n);
}

int obd_image_close(obd_image *img) {
  if (!img) return 0;
  for (size_t t = 0; t < img->n; t++) lsmt_ro_close(img->top[t]);
  int rc = img->upper ? lsmt_rw_close(img->upper) : 0;
  obd_free(img->index);
  obd_free(img);
  return rc;
}
