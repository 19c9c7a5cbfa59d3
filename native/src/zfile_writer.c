/* ZFile writer (spec §1.6): a sink that splits its input into blocks,
 * compresses each (§1.5), and at close appends the index and trailer and
 * optionally rewrites the header with the final values. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced, for obd_malloc */
#include <lz4.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "alloc.h"
#include "crc32c.h"
#include "error.h"
#include "le.h"
#include "zfile.h"

#define ZSTD_BLOCK_LEVEL 3 /* §1.5: the only level the reference uses */
#define ZFILE_CRC_BYTES 4u
#define ZFILE_INITIAL_LENS 1024u

/* Flags of the three records a writer emits (§1.3). */
#define FLAGS_INITIAL_HEADER (ZFILE_FLAG_HEADER | ZFILE_FLAG_TYPE | ZFILE_FLAG_DIGEST)
#define FLAGS_TRAILER (ZFILE_FLAG_TYPE | ZFILE_FLAG_SEALED | ZFILE_FLAG_DIGEST)
#define FLAGS_FINAL_HEADER (FLAGS_INITIAL_HEADER | ZFILE_FLAG_HEADER_OVERWRITE)

typedef struct zfile_writer {
  obd_sink base;
  obd_sink *out;
  int own_out;
  zfile_options opt;
  uint64_t header_at; /* out->written when we started: our offset 0 */
  uint8_t *block;     /* pending input, block_size bytes */
  size_t fill;
  uint8_t *cbuf;      /* one compressed block and its CRC; also index chunks */
  size_t ccap;
  uint32_t *lens;     /* stored length of each block written */
  uint64_t nblocks;
  uint64_t lens_cap;
  uint64_t stored;    /* Σ lens */
  ZSTD_CCtx *cctx;    /* zstd only */
  int err;            /* first failure; sticky */
} zfile_writer;

static void *zstd_alloc(void *opaque, size_t n) {
  (void)opaque;
  return obd_malloc(n);
}

static void zstd_free(void *opaque, void *p) {
  (void)opaque;
  obd_free(p);
}

static const ZSTD_customMem zstd_mem = {zstd_alloc, zstd_free, NULL};

void zfile_options_default(zfile_options *opt) {
  opt->algo = ZFILE_ALGO_LZ4;
  opt->block_size = 4096;
  opt->verify = 1;
  opt->overwrite_header = 1;
}

static int check_options(const zfile_options *opt, const char *name) {
  uint32_t bs = opt->block_size;
  if (bs < ZFILE_MIN_BLOCK_SIZE || bs > ZFILE_MAX_BLOCK_SIZE || (bs & (bs - 1)))
    return obd_fail(OBD_E_INVAL, "%s: zfile block size %u (want a power of two, %u..%u)",
                    name, bs, ZFILE_MIN_BLOCK_SIZE, ZFILE_MAX_BLOCK_SIZE);
  if (opt->algo != ZFILE_ALGO_LZ4 && opt->algo != ZFILE_ALGO_ZSTD)
    return obd_fail(OBD_E_INVAL, "%s: zfile algo %u (want 1 lz4 or 2 zstd)", name,
                    opt->algo);
  return 0;
}

static void record_init(const zfile_writer *w, uint64_t flags, zfile_record *r) {
  memset(r, 0, sizeof *r);
  r->flags = flags;
  r->block_size = w->opt.block_size;
  r->algo = w->opt.algo;
  r->verify = w->opt.verify;
}

/* The closing records: index fields filled in (§1.1, §1.2). */
static void record_final(const zfile_writer *w, uint64_t flags, uint32_t index_crc,
                         zfile_record *r) {
  record_init(w, flags, r);
  r->index_offset = ZFILE_RECORD_SIZE + w->stored;
  r->index_size = w->nblocks;
  r->original_file_size = w->base.written;
  r->index_crc = index_crc;
}

static int write_record(zfile_writer *w, const zfile_record *r, int rewrite) {
  uint8_t buf[ZFILE_RECORD_SIZE];
  OBD_TRY(zfile_record_encode(r, buf, sizeof buf));
  if (rewrite) return obd_sink_rewrite(w->out, buf, sizeof buf, w->header_at);
  return obd_sink_write(w->out, buf, sizeof buf);
}

static int push_len(zfile_writer *w, uint32_t len) {
  if (w->nblocks == w->lens_cap) {
    uint64_t cap = w->lens_cap * 2;
    uint32_t *lens = obd_realloc(w->lens, (size_t)cap * sizeof *lens);
    if (!lens) return obd_fail(OBD_E_NOMEM, "%s: zfile index of %llu blocks",
                               w->base.name, (unsigned long long)cap);
    w->lens = lens;
    w->lens_cap = cap;
  }
  w->lens[w->nblocks++] = len;
  return 0;
}

static int compress(zfile_writer *w, const uint8_t *in, size_t n, size_t *clen) {
  if (w->opt.algo == ZFILE_ALGO_LZ4) {
    int r = LZ4_compress_default((const char *)in, (char *)w->cbuf, (int)n,
                                 (int)(w->ccap - ZFILE_CRC_BYTES));
    if (r <= 0) return obd_fail(OBD_E_NOMEM, "%s: lz4 compression failed", w->base.name);
    *clen = (size_t)r;
    return 0;
  }
  size_t r = ZSTD_compressCCtx(w->cctx, w->cbuf, w->ccap - ZFILE_CRC_BYTES, in, n,
                               ZSTD_BLOCK_LEVEL);
  if (ZSTD_isError(r))
    return obd_fail(OBD_E_NOMEM, "%s: zstd compression failed: %s", w->base.name,
                    ZSTD_getErrorName(r));
  *clen = r;
  return 0;
}

static int emit_block(zfile_writer *w, const uint8_t *in, size_t n) {
  size_t len = 0;
  OBD_TRY(compress(w, in, n, &len));
  if (w->opt.verify) {
    le32_put(w->cbuf + len, crc32c_raw(CRC32C_BLOCK_SEED, w->cbuf, len));
    len += ZFILE_CRC_BYTES;
  }
  OBD_TRY(push_len(w, (uint32_t)len));
  OBD_TRY(obd_sink_write(w->out, w->cbuf, len));
  w->stored += len;
  return 0;
}

static int write_blocks(zfile_writer *w, const uint8_t *p, size_t n) {
  size_t bs = w->opt.block_size;
  while (n > 0) {
    if (w->fill == 0 && n >= bs) { /* whole block straight from the caller */
      OBD_TRY(emit_block(w, p, bs));
      p += bs;
      n -= bs;
      continue;
    }
    size_t take = bs - w->fill < n ? bs - w->fill : n;
    memcpy(w->block + w->fill, p, take);
    w->fill += take;
    p += take;
    n -= take;
    if (w->fill == bs) {
      w->fill = 0;
      OBD_TRY(emit_block(w, w->block, bs));
    }
  }
  return 0;
}

static int writer_write(obd_sink *s, const void *buf, size_t n) {
  zfile_writer *w = (zfile_writer *)s;
  if (w->err) return obd_fail(w->err, "%s: zfile writer failed earlier", s->name);
  int rc = write_blocks(w, buf, n);
  if (rc < 0) w->err = rc;
  return rc;
}

/* Index entries are u32 LE (§1.1), written through cbuf in chunks. */
static int write_index(zfile_writer *w, uint32_t *crc) {
  size_t per = w->ccap / 4;
  *crc = 0;
  for (uint64_t i = 0; i < w->nblocks;) {
    size_t cnt = w->nblocks - i < per ? (size_t)(w->nblocks - i) : per;
    for (size_t k = 0; k < cnt; k++) le32_put(w->cbuf + 4 * k, w->lens[i + k]);
    *crc = crc32c_raw(*crc, w->cbuf, cnt * 4);
    OBD_TRY(obd_sink_write(w->out, w->cbuf, cnt * 4));
    i += cnt;
  }
  return 0;
}

static int finish(zfile_writer *w) {
  zfile_record r;
  uint32_t index_crc;
  if (w->fill > 0) OBD_TRY(emit_block(w, w->block, w->fill));
  OBD_TRY(write_index(w, &index_crc));
  record_final(w, FLAGS_TRAILER, index_crc, &r);
  OBD_TRY(write_record(w, &r, 0));
  if (!w->opt.overwrite_header || !w->out->ops->rewrite) return 0;
  record_final(w, FLAGS_FINAL_HEADER, index_crc, &r);
  return write_record(w, &r, 1);
}

static void writer_free(zfile_writer *w) {
  ZSTD_freeCCtx(w->cctx);
  obd_free(w->block);
  obd_free(w->cbuf);
  obd_free(w->lens);
  obd_free(w);
}

static int writer_close(obd_sink *s) {
  zfile_writer *w = (zfile_writer *)s;
  int rc = w->err;
  if (rc == 0) rc = finish(w);
  if (w->own_out) {
    int crc = obd_sink_close(w->out);
    if (rc == 0) rc = crc;
  }
  writer_free(w);
  return rc;
}

static const obd_sink_ops zfile_writer_ops = {
    .write = writer_write,
    .rewrite = NULL, /* compressed output cannot be patched in place */
    .close = writer_close,
};

static int writer_alloc(zfile_writer *w) {
  size_t bs = w->opt.block_size;
  size_t bound = w->opt.algo == ZFILE_ALGO_LZ4 ? (size_t)LZ4_compressBound((int)bs)
                                               : ZSTD_compressBound(bs);
  w->ccap = bound + ZFILE_CRC_BYTES;
  w->block = obd_malloc(bs);
  w->cbuf = obd_malloc(w->ccap);
  w->lens_cap = ZFILE_INITIAL_LENS;
  w->lens = obd_malloc(ZFILE_INITIAL_LENS * sizeof *w->lens);
  if (w->opt.algo == ZFILE_ALGO_ZSTD) w->cctx = ZSTD_createCCtx_advanced(zstd_mem);
  if (!w->block || !w->cbuf || !w->lens || (w->opt.algo == ZFILE_ALGO_ZSTD && !w->cctx))
    return obd_fail(OBD_E_NOMEM, "%s: zfile writer buffers", w->out->name);
  return 0;
}

/* Ownership of an owned `out` passes to the writer even when opening fails. */
static int release_out(obd_sink *out, int own_out, int rc) {
  if (own_out) {
    char detail[OBD_DETAIL_MAX];
    snprintf(detail, sizeof detail, "%s", obd_last_error());
    obd_sink_close(out);
    obd_fail(rc, "%s", detail);
  }
  return rc;
}

int zfile_writer_open(obd_sink *out, int own_out, const zfile_options *opt,
                      obd_sink **writer) {
  zfile_record r;
  int rc = check_options(opt, out->name);
  if (rc < 0) return release_out(out, own_out, rc);
  zfile_writer *w = obd_calloc(1, sizeof *w);
  if (!w)
    return release_out(out, own_out,
                       obd_fail(OBD_E_NOMEM, "%s: zfile writer", out->name));
  w->out = out;
  w->opt = *opt;
  w->opt.verify = opt->verify != 0;
  w->opt.overwrite_header = opt->overwrite_header != 0;
  w->header_at = out->written;
  obd_sink_init(&w->base, &zfile_writer_ops, out->name);
  rc = writer_alloc(w);
  if (rc == 0) {
    record_init(w, FLAGS_INITIAL_HEADER, &r);
    rc = write_record(w, &r, 0);
  }
  if (rc < 0) {
    writer_free(w);
    return release_out(out, own_out, rc);
  }
  w->own_out = own_out;
  *writer = &w->base;
  return 0;
}
