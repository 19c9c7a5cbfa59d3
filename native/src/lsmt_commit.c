/* Commit (§2.5): compacts a writable layer into a committed layer, streamed
 * to a sink, byte-identical to the reference writer. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"

/* Data is copied through one buffer of this many sectors: a multiple of the
 * 64-sector step so steps never straddle two reads. */
#define COPY_SECTORS 2048u
#define COPY_BYTES (COPY_SECTORS * LSMT_SECTOR)
#define LOOKUP_BATCH 64u

_Static_assert(COPY_SECTORS % LSMT_COMMIT_STEP == 0, "copy buffer holds whole steps");
_Static_assert(COPY_BYTES % LSMT_SEG_SIZE == 0, "copy buffer holds whole records");

typedef struct committer {
  lsmt_rw *src;
  obd_file *data;
  obd_sink *out;
  uint8_t *buf;      /* COPY_BYTES */
  lsmt_seg *index;   /* merged records so far */
  size_t count, cap;
  lsmt_seg cur;      /* record being merged into; valid iff have_cur */
  int have_cur;
  uint64_t cursor;   /* sector where the next data goes */
} committer;

static int push(committer *c, lsmt_seg s) {
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 1024;
    lsmt_seg *v = obd_realloc(c->index, cap * sizeof *v);
    if (!v) return obd_fail(OBD_E_NOMEM, "commit %s: index of %zu records",
                            c->data->name, cap);
    c->index = v;
    c->cap = cap;
  }
  c->index[c->count++] = s;
  return 0;
}

static uint64_t mend(lsmt_seg s) {
  return lsmt_seg_moffset(s) + (lsmt_seg_zeroed(s) ? 0 : lsmt_seg_length(s));
}

/* §2.5 step 3: the greedy merge, applied as records are produced. Note the
 * strict "<": two records never merge into exactly 16383 sectors. */
static int emit(committer *c, lsmt_seg j) {
  lsmt_seg *i = &c->cur;
  if (c->have_cur && lsmt_seg_end(*i) == lsmt_seg_offset(j) &&
      mend(*i) == lsmt_seg_moffset(j) && lsmt_seg_zeroed(*i) == lsmt_seg_zeroed(j) &&
      lsmt_seg_tag(*i) == lsmt_seg_tag(j) &&
      (uint64_t)lsmt_seg_length(*i) + lsmt_seg_length(j) < LSMT_MAX_SEG_LENGTH) {
    *i = lsmt_seg_make(lsmt_seg_offset(*i), lsmt_seg_length(*i) + lsmt_seg_length(j),
                       lsmt_seg_moffset(*i), lsmt_seg_zeroed(*i), lsmt_seg_tag(*i));
    return 0;
  }
  if (c->have_cur) OBD_TRY(push(c, *i));
  *i = j;
  c->have_cur = 1;
  return 0;
}

/* Copies sectors [done, done+n) of data mapping m (n <= COPY_SECTORS), one
 * record per 64-sector step counted from m's start. */
static int copy_part(committer *c, lsmt_seg m, uint32_t done, uint32_t n) {
  size_t bytes = (size_t)n * LSMT_SECTOR;
  int64_t got = obd_file_pread(c->data, c->buf, bytes,
                               (lsmt_seg_moffset(m) + done) * LSMT_SECTOR);
  if (got < 0) return obd_fail_wrap((int)got, "commit");
  memset(c->buf + got, 0, bytes - (size_t)got); /* short read: zeros (§2.11) */
  for (uint32_t k = 0; k < n; k += LSMT_COMMIT_STEP) {
    uint32_t len = n - k < LSMT_COMMIT_STEP ? n - k : LSMT_COMMIT_STEP;
    OBD_TRY(emit(c, lsmt_seg_make(lsmt_seg_offset(m) + done + k, len, c->cursor, 0, 0)));
    c->cursor += len;
  }
  return obd_sink_write(c->out, c->buf, bytes);
}

/* §2.5 step 2 for one source mapping. Tags are 0: this is a one-layer commit. */
static int copy_mapping(committer *c, lsmt_seg m) {
  uint32_t len = lsmt_seg_length(m);
  if (lsmt_seg_zeroed(m))
    return emit(c, lsmt_seg_make(lsmt_seg_offset(m), len, c->cursor, 1, 0));
  for (uint32_t done = 0; done < len; done += COPY_SECTORS) {
    uint32_t n = len - done < COPY_SECTORS ? len - done : COPY_SECTORS;
    OBD_TRY(copy_part(c, m, done, n));
  }
  return 0;
}

/* Walks the source index in ascending order through a bounded batch. */
static int copy_all(committer *c) {
  lsmt_seg batch[LOOKUP_BATCH];
  uint64_t pos = 0;
  for (;;) {
    size_t got = lsmt_rw_lookup(c->src, pos, UINT64_MAX, batch, LOOKUP_BATCH);
    for (size_t k = 0; k < got; k++) OBD_TRY(copy_mapping(c, batch[k]));
    if (got < LOOKUP_BATCH) break;
    pos = lsmt_seg_end(batch[got - 1]);
  }
  if (c->have_cur) OBD_TRY(push(c, c->cur));
  c->have_cur = 0;
  return 0;
}

/* §2.5 step 4: pad with invalid records to a multiple of 256, then write the
 * records through the copy buffer. */
static int write_index(committer *c) {
  lsmt_seg pad = lsmt_seg_make(LSMT_INVALID_OFFSET, 0, 0, 0, 0);
  while (c->count % LSMT_INDEX_ALIGN) OBD_TRY(push(c, pad));
  size_t per = COPY_BYTES / LSMT_SEG_SIZE;
  for (size_t done = 0; done < c->count; done += per) {
    size_t n = c->count - done < per ? c->count - done : per;
    for (size_t k = 0; k < n; k++)
      OBD_TRY(lsmt_seg_encode(c->index[done + k], c->buf + k * LSMT_SEG_SIZE,
                              COPY_BYTES - k * LSMT_SEG_SIZE));
    OBD_TRY(obd_sink_write(c->out, c->buf, n * LSMT_SEG_SIZE));
  }
  return 0;
}

/* Header fields of §2.5: version 1.1, virtual size as stored in the source
 * header (in-memory growth is not persisted), uuid/parent per the options. */
static void make_header(const lsmt_rw *src, const lsmt_commit_options *opt,
                        lsmt_header *h) {
  const lsmt_header *sh = lsmt_rw_header(src);
  memset(h, 0, sizeof *h);
  h->flags = LSMT_FLAG_HEADER | LSMT_FLAG_DATA | LSMT_FLAG_SEALED;
  h->virtual_size = sh->virtual_size;
  h->version = 1;
  h->sub_version = 1;
  uint8_t null_uuid[16] = {0};
  if (!opt->uuid || obd_uuid_normalise(opt->uuid, h->uuid) < 0)
    obd_uuid_format(null_uuid, h->uuid);
  if (!opt->parent_uuid || obd_uuid_normalise(opt->parent_uuid, h->parent_uuid) < 0)
    memcpy(h->parent_uuid, sh->parent_uuid, sizeof h->parent_uuid);
  snprintf(h->user_tag, sizeof h->user_tag, "%s", opt->user_tag ? opt->user_tag : "");
  obd_clear_error(); /* a rejected option UUID is not a failure */
}

static int write_header(committer *c, const lsmt_header *h) {
  OBD_TRY(lsmt_header_encode(h, c->buf, COPY_BYTES));
  return obd_sink_write(c->out, c->buf, LSMT_HEADER_SIZE);
}

static int run(committer *c, const lsmt_commit_options *opt) {
  lsmt_header h;
  make_header(c->src, opt, &h);
  OBD_TRY(write_header(c, &h));
  OBD_TRY(copy_all(c));
  OBD_TRY(write_index(c));
  h.flags = LSMT_FLAG_DATA | LSMT_FLAG_SEALED;
  h.index_offset = c->cursor * LSMT_SECTOR;
  h.index_size = c->count;
  return write_header(c, &h);
}

int lsmt_commit(lsmt_rw *l, obd_sink *out, const lsmt_commit_options *opt) {
  static const lsmt_commit_options defaults = {0};
  committer c = {.src = l, .data = lsmt_rw_data_file(l), .out = out,
                 .cursor = LSMT_HEADER_SIZE / LSMT_SECTOR};
  c.buf = obd_malloc(COPY_BYTES);
  int rc = c.buf ? run(&c, opt ? opt : &defaults)
                 : obd_fail(OBD_E_NOMEM, "commit %s: copy buffer", c.data->name);
  obd_free(c.buf);
  obd_free(c.index);
  return rc;
}
