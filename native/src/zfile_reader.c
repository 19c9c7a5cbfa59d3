/* ZFile reader (spec §1.4): an obd_file whose bytes are the decompressed
 * content of another obd_file.
 *
 * Everything a read needs is made at open: the block offset table and a small
 * pool of scratch slots. A read borrows one slot for its whole duration, so up
 * to ZFILE_SLOTS reads decode in parallel and further readers wait; nothing
 * is allocated after open. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced, for obd_malloc */
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "alloc.h"
#include "crc32c.h"
#include "error.h"
#include "io_priority.h"
#include "le.h"
#include "zfile.h"

#define ZFILE_SLOTS 8
/* Slots background readers (trace replay, io_priority.h) leave to demand
 * reads: a slot is held while its read waits for a remote fetch, so a busy
 * replay would otherwise make the container's reads queue behind it. */
#define ZFILE_DEMAND_SLOTS 2
/* Compressed bytes fetched by one pread of the source: several consecutive
 * blocks are read together, which matters when the source is remote. */
#define ZFILE_RUN_BYTES (1u << 20)
#define ZFILE_CRC_BYTES 4u /* §1.1: CRC stored after each block when verify */
/* Index entries read per pread at open: 1 MiB, so that a remote blob's
 * index usually arrives in one request rather than one per 16 KiB. */
#define ZFILE_INDEX_CHUNK 262144u
/* §1.4: a block that fails its CRC or decompression is evicted from the
 * cache below and read again up to this many times. */
#define ZFILE_REREADS 3
/* Runs land in cbuf at the source offset's position modulo this, so kernel
 * copies from the page cache see equal source and destination alignment:
 * some CPUs (AMD Zen) copy three times slower otherwise. */
#define ZFILE_COPY_ALIGN 64u

typedef struct zfile_slot {
  uint8_t *cmem;           /* allocation holding cbuf */
  uint8_t *cbuf;           /* ZFILE_COPY_ALIGN-aligned; runs of stored blocks */
  uint8_t *dbuf;           /* one decompressed block, for partial reads */
  ZSTD_DCtx *dctx;         /* zstd files only */
  struct zfile_slot *next; /* free list link, guarded by pool_lock */
} zfile_slot;

typedef struct zfile_reader {
  obd_file base;
  obd_file *src;
  int own_src;
  zfile_info info;
  /* Copied from the record the reader selected (header or trailer). */
  uint32_t block_size;
  uint8_t algo;
  uint8_t verify;
  uint64_t nblocks;
  uint64_t *start;   /* nblocks + 1 offsets into src; block i is [start[i], start[i+1]) */
  size_t max_stored; /* codec bound of one block, plus its CRC */
  size_t cbuf_cap;
  zfile_slot slots[ZFILE_SLOTS];
  int pool_ready;
  pthread_mutex_t pool_lock;
  pthread_cond_t pool_cond;
  zfile_slot *free_slots; /* guarded by pool_lock */
  int free_count;         /* guarded by pool_lock */
} zfile_reader;

static const obd_file_ops zfile_reader_ops;

/* ---- zstd memory through obd_malloc, so tests see and can fail it ---- */

static void *zstd_alloc(void *opaque, size_t n) {
  (void)opaque;
  return obd_malloc(n);
}

static void zstd_free(void *opaque, void *p) {
  (void)opaque;
  obd_free(p);
}

static const ZSTD_customMem zstd_mem = {zstd_alloc, zstd_free, NULL};

/* ---- open: records ---- */

static int read_header(zfile_reader *z) {
  uint8_t buf[ZFILE_RECORD_SIZE];
  obd_file *src = z->src;
  int digest_ok;
  if (src->size < ZFILE_RECORD_SIZE)
    return obd_fail(OBD_E_FORMAT, "%s: %llu bytes, too small for a zfile",
                    src->name, (unsigned long long)src->size);
  OBD_TRY(obd_file_read_exact(src, buf, sizeof buf, 0));
  if (zfile_record_decode(buf, sizeof buf, &z->info.header, &digest_ok) < 0 ||
      !(z->info.header.flags & ZFILE_FLAG_HEADER))
    return obd_fail(OBD_E_FORMAT, "%s: not a zfile (no header at offset 0)",
                    src->name);
  if ((z->info.header.flags & ZFILE_FLAG_DIGEST) && !digest_ok)
    return obd_fail(OBD_E_CORRUPT, "%s: zfile header at offset 0: digest mismatch",
                    src->name);
  return 0;
}

/* §1.4 step 3, trailer branch. The trailer's own digest is not checked. */
static int read_trailer(zfile_reader *z) {
  uint8_t buf[ZFILE_RECORD_SIZE];
  obd_file *src = z->src;
  const uint64_t want = ZFILE_FLAG_TYPE | ZFILE_FLAG_SEALED;
  if (!(z->info.header.flags & ZFILE_FLAG_TYPE))
    return obd_fail(OBD_E_FORMAT, "%s: zfile header flags 0x%llx lack TYPE",
                    src->name, (unsigned long long)z->info.header.flags);
  if (src->size < 2 * ZFILE_RECORD_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "%s: %llu bytes, no room for a zfile trailer",
                    src->name, (unsigned long long)src->size);
  uint64_t at = src->size - ZFILE_RECORD_SIZE;
  OBD_TRY(obd_file_read_exact(src, buf, sizeof buf, at));
  if (zfile_record_decode(buf, sizeof buf, &z->info.trailer, NULL) < 0)
    return obd_fail(OBD_E_TRUNCATED,
                    "%s: no zfile trailer at offset %llu (truncated or unsealed)",
                    src->name, (unsigned long long)at);
  uint64_t flags = z->info.trailer.flags;
  if ((flags & (ZFILE_FLAG_HEADER | want)) != want)
    return obd_fail(OBD_E_FORMAT, "%s: zfile trailer at offset %llu: flags 0x%llx",
                    src->name, (unsigned long long)at, (unsigned long long)flags);
  z->info.has_trailer = 1;
  return 0;
}

static const zfile_record *selected(const zfile_reader *z) {
  return z->info.has_trailer ? &z->info.trailer : &z->info.header;
}

static int is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

/* Options of the selected record we can decode, and a block count that agrees
 * with the original size (else a read could run past the index). */
static int check_options(zfile_reader *z) {
  const zfile_record *r = selected(z);
  const char *name = z->src->name;
  if (r->flags & ZFILE_FLAG_IDX_COMP)
    return obd_fail(OBD_E_UNSUPPORTED, "%s: compressed zfile index", name);
  if (r->algo == ZFILE_ALGO_MINI_LZO || r->use_dict)
    return obd_fail(OBD_E_UNSUPPORTED, "%s: zfile algo %u%s", name, r->algo,
                    r->use_dict ? " with dictionary" : "");
  if (r->algo != ZFILE_ALGO_LZ4 && r->algo != ZFILE_ALGO_ZSTD)
    return obd_fail(OBD_E_FORMAT, "%s: unknown zfile algo %u", name, r->algo);
  if (!is_pow2(r->block_size) || r->block_size > ZFILE_MAX_BLOCK_SIZE)
    return obd_fail(OBD_E_FORMAT, "%s: zfile block size %u", name, r->block_size);
  uint64_t want = r->original_file_size / r->block_size +
                  (r->original_file_size % r->block_size != 0);
  if (r->index_size > ZFILE_MAX_INDEX_SIZE || r->index_size != want)
    return obd_fail(OBD_E_CORRUPT,
                    "%s: zfile index of %llu blocks for %llu bytes in %u-byte blocks",
                    name, (unsigned long long)r->index_size,
                    (unsigned long long)r->original_file_size, r->block_size);
  z->block_size = r->block_size;
  z->algo = r->algo;
  z->verify = r->verify != 0;
  z->nblocks = r->index_size;
  size_t bound = r->algo == ZFILE_ALGO_LZ4
                     ? (size_t)LZ4_compressBound((int)r->block_size)
                     : ZSTD_compressBound(r->block_size);
  z->max_stored = bound + (z->verify ? ZFILE_CRC_BYTES : 0);
  return 0;
}

/* §1.4 step 4: the index must lie before the trailer, or inside the file. */
static int check_index_location(zfile_reader *z) {
  const zfile_record *r = selected(z);
  uint64_t end = z->src->size - (z->info.has_trailer ? ZFILE_RECORD_SIZE : 0);
  uint64_t bytes = r->index_size * 4;
  uint64_t data = ZFILE_RECORD_SIZE + (uint64_t)r->dict_size;
  if (r->index_offset < data)
    return obd_fail(OBD_E_CORRUPT, "%s: zfile index at %llu overlaps the header",
                    z->src->name, (unsigned long long)r->index_offset);
  if (r->index_offset > end || bytes > end - r->index_offset)
    return obd_fail(z->info.has_trailer ? OBD_E_CORRUPT : OBD_E_TRUNCATED,
                    "%s: zfile index [%llu, +%llu) outside [%llu, %llu)",
                    z->src->name, (unsigned long long)r->index_offset,
                    (unsigned long long)bytes, (unsigned long long)data,
                    (unsigned long long)end);
  return 0;
}

/* ---- open: index ---- */

/* Reads the u32 lengths into start[] as running offsets (§1.4 step 6) and
 * returns their CRC in *crc. */
static int read_index(zfile_reader *z, uint32_t *crc) {
  const zfile_record *r = selected(z);
  uint64_t pos = ZFILE_RECORD_SIZE + (uint64_t)r->dict_size;
  size_t cap = z->nblocks < ZFILE_INDEX_CHUNK ? (size_t)z->nblocks : ZFILE_INDEX_CHUNK;
  *crc = 0;
  z->start[0] = pos;
  uint8_t *chunk = obd_malloc(cap * 4);
  if (!chunk) return obd_fail(OBD_E_NOMEM, "%s: zfile index buffer", z->src->name);
  int rc = 0;
  for (uint64_t done = 0; done < z->nblocks && rc == 0;) {
    uint64_t left = z->nblocks - done;
    size_t cnt = left < cap ? (size_t)left : cap;
    rc = obd_file_read_exact(z->src, chunk, cnt * 4, r->index_offset + done * 4);
    if (rc < 0) break;
    *crc = crc32c_raw(*crc, chunk, cnt * 4);
    for (size_t k = 0; k < cnt; k++) {
      pos += le32_get(chunk + 4 * k); /* < 2^32 * 10^9: cannot wrap */
      z->start[done + k + 1] = pos;
    }
    done += cnt;
  }
  obd_free(chunk);
  return rc;
}

static int check_blocks(zfile_reader *z) {
  uint64_t limit = selected(z)->index_offset;
  size_t min = z->verify ? ZFILE_CRC_BYTES : 0;
  for (uint64_t i = 0; i < z->nblocks; i++) {
    uint64_t len = z->start[i + 1] - z->start[i];
    if (len <= min || len > z->max_stored || z->start[i + 1] > limit)
      return obd_fail(OBD_E_CORRUPT,
                      "%s: block %llu at offset %llu: stored length %llu "
                      "(want %zu < n <= %zu, ending by the index at %llu)",
                      z->src->name, (unsigned long long)i,
                      (unsigned long long)z->start[i], (unsigned long long)len,
                      min, z->max_stored, (unsigned long long)limit);
  }
  return 0;
}

static int load_index(zfile_reader *z) {
  const zfile_record *r = selected(z);
  uint32_t crc;
  z->start = obd_malloc((size_t)(z->nblocks + 1) * sizeof *z->start);
  if (!z->start)
    return obd_fail(OBD_E_NOMEM, "%s: zfile index of %llu blocks", z->src->name,
                    (unsigned long long)z->nblocks);
  OBD_TRY(read_index(z, &crc));
  if ((r->flags & ZFILE_FLAG_DIGEST) && crc != r->index_crc)
    return obd_fail(OBD_E_CORRUPT,
                    "%s: zfile index at offset %llu: crc mismatch (stored 0x%08x, computed 0x%08x)",
                    z->src->name, (unsigned long long)r->index_offset,
                    r->index_crc, crc);
  return check_blocks(z);
}

/* ---- scratch pool ---- */

static int pool_init(zfile_reader *z) {
  for (int i = 0; i < ZFILE_SLOTS; i++) {
    zfile_slot *s = &z->slots[i];
    s->cmem = obd_malloc(z->cbuf_cap + 2 * ZFILE_COPY_ALIGN);
    if (s->cmem) s->cbuf = s->cmem + (-(uintptr_t)s->cmem & (ZFILE_COPY_ALIGN - 1));
    s->dbuf = obd_malloc(z->block_size);
    if (z->algo == ZFILE_ALGO_ZSTD) s->dctx = ZSTD_createDCtx_advanced(zstd_mem);
    if (!s->cmem || !s->dbuf || (z->algo == ZFILE_ALGO_ZSTD && !s->dctx))
      return obd_fail(OBD_E_NOMEM, "%s: zfile scratch buffers", z->src->name);
    s->next = z->free_slots;
    z->free_slots = s;
    z->free_count++;
  }
  if (pthread_mutex_init(&z->pool_lock, NULL) != 0)
    return obd_fail(OBD_E_NOMEM, "%s: zfile pool lock", z->src->name);
  if (pthread_cond_init(&z->pool_cond, NULL) != 0) {
    pthread_mutex_destroy(&z->pool_lock);
    return obd_fail(OBD_E_NOMEM, "%s: zfile pool lock", z->src->name);
  }
  z->pool_ready = 1;
  return 0;
}

static zfile_slot *slot_get(zfile_reader *z) {
  int reserve = io_priority_background() ? ZFILE_DEMAND_SLOTS : 0;
  pthread_mutex_lock(&z->pool_lock);
  while (z->free_count <= reserve) pthread_cond_wait(&z->pool_cond, &z->pool_lock);
  zfile_slot *s = z->free_slots;
  z->free_slots = s->next;
  z->free_count--;
  pthread_mutex_unlock(&z->pool_lock);
  return s;
}

/* LIFO, so a lightly used file keeps touching the same few buffers.
 * Broadcast: a background waiter that may not take the slot must not
 * swallow the wakeup of a demand waiter that may. */
static void slot_put(zfile_reader *z, zfile_slot *s) {
  pthread_mutex_lock(&z->pool_lock);
  s->next = z->free_slots;
  z->free_slots = s;
  z->free_count++;
  pthread_cond_broadcast(&z->pool_cond);
  pthread_mutex_unlock(&z->pool_lock);
}

static void reader_free(zfile_reader *z) {
  for (int i = 0; i < ZFILE_SLOTS; i++) {
    obd_free(z->slots[i].cmem);
    obd_free(z->slots[i].dbuf);
    ZSTD_freeDCtx(z->slots[i].dctx);
  }
  if (z->pool_ready) {
    pthread_cond_destroy(&z->pool_cond);
    pthread_mutex_destroy(&z->pool_lock);
  }
  obd_free(z->start);
  obd_free(z);
}

/* ---- blocks ---- */

static size_t block_len(const zfile_reader *z, uint64_t i) {
  uint64_t at = i * z->block_size;
  uint64_t left = z->base.size - at;
  return left < z->block_size ? (size_t)left : z->block_size;
}

static int block_fail(const zfile_reader *z, uint64_t i, const char *what) {
  return obd_fail(OBD_E_CORRUPT, "%s: block %llu at offset %llu: %s",
                  z->src->name, (unsigned long long)i,
                  (unsigned long long)z->start[i], what);
}

static int decompress(const zfile_reader *z, zfile_slot *s, uint64_t i,
                      const uint8_t *in, size_t n, uint8_t *out, size_t want) {
  char what[128];
  size_t got;
  if (z->algo == ZFILE_ALGO_LZ4) {
    int r = LZ4_decompress_safe((const char *)in, (char *)out, (int)n, (int)want);
    if (r < 0) return block_fail(z, i, "lz4 data invalid");
    got = (size_t)r;
  } else {
    got = ZSTD_decompressDCtx(s->dctx, out, want, in, n);
    if (ZSTD_isError(got)) {
      snprintf(what, sizeof what, "zstd: %s", ZSTD_getErrorName(got));
      return block_fail(z, i, what);
    }
  }
  if (got != want) {
    snprintf(what, sizeof what, "decompressed to %zu bytes, expected %zu", got, want);
    return block_fail(z, i, what);
  }
  return 0;
}

/* Checks the CRC of block i, whose stored bytes are at `stored`, and
 * decompresses it into out (block_len(i) bytes). */
static int decode_block(const zfile_reader *z, zfile_slot *s, uint64_t i,
                        const uint8_t *stored, uint8_t *out) {
  size_t n = (size_t)(z->start[i + 1] - z->start[i]);
  if (z->verify) {
    n -= ZFILE_CRC_BYTES;
    uint32_t want = le32_get(stored + n);
    uint32_t got = crc32c_raw(CRC32C_BLOCK_SEED, stored, n);
    if (got != want) {
      char what[96];
      snprintf(what, sizeof what, "crc mismatch (stored 0x%08x, computed 0x%08x)",
               want, got);
      return block_fail(z, i, what);
    }
  }
  return decompress(z, s, i, stored, n, out, block_len(z, i));
}

/* One past the last block of the run that starts at `first`, ends by `last`
 * and whose stored bytes fit in a slot's cbuf (one block always fits). */
static uint64_t run_end(const zfile_reader *z, uint64_t first, uint64_t last) {
  uint64_t end = first + 1;
  while (end <= last && z->start[end + 1] - z->start[first] <= z->cbuf_cap) end++;
  return end;
}

/* Reads the stored bytes of blocks [first, end) into s; *run points at
 * block first's bytes. */
static int read_run(const zfile_reader *z, zfile_slot *s, uint64_t first,
                    uint64_t end, const uint8_t **run) {
  size_t n = (size_t)(z->start[end] - z->start[first]);
  /* A local file in memory is decoded where it lies: no copy. */
  const uint8_t *mapped = obd_file_map(z->src, z->start[first], n);
  if (mapped) {
    *run = mapped;
    return 0;
  }
  uint8_t *at = s->cbuf + (z->start[first] & (ZFILE_COPY_ALIGN - 1));
  int rc = obd_file_read_exact(z->src, at, n, z->start[first]);
  if (rc < 0)
    return obd_fail_wrap(rc, "%s: blocks %llu..%llu", z->src->name,
                         (unsigned long long)first, (unsigned long long)(end - 1));
  *run = at;
  return 0;
}

/* Decodes block i into the caller's bytes [off, off + n) where they overlap,
 * straight into dst when the request covers the whole block. */
static int copy_block(const zfile_reader *z, zfile_slot *s, uint64_t i,
                      const uint8_t *stored, uint8_t *dst, size_t n,
                      uint64_t off) {
  uint64_t bstart = i * z->block_size;
  size_t blen = block_len(z, i);
  if (bstart >= off && bstart + blen <= off + n)
    return decode_block(z, s, i, stored, dst + (bstart - off));
  OBD_TRY(decode_block(z, s, i, stored, s->dbuf));
  uint64_t from = off > bstart ? off : bstart;
  uint64_t to = off + n < bstart + blen ? off + n : bstart + blen;
  memcpy(dst + (from - off), s->dbuf + (from - bstart), (size_t)(to - from));
  return 0;
}

/* A damaged block may be damaged only in a cache below us (a bad fetch, a
 * page lost in a power cut): drop the cached copy of its stored bytes, so
 * the next read fetches them again and a later read heals. Returns 1 when
 * re-reading can help. Keeps the caller's error detail. */
static int invalidate_block(const zfile_reader *z, uint64_t i) {
  char detail[OBD_DETAIL_MAX];
  snprintf(detail, sizeof detail, "%s", obd_last_error());
  int rc = obd_file_invalidate(z->src, z->start[i], z->start[i + 1] - z->start[i]);
  obd_fail(0, "%s", detail);
  return rc > 0;
}

static int read_blocks(const zfile_reader *z, zfile_slot *s, uint8_t *dst,
                       size_t n, uint64_t off) {
  uint64_t last = (off + n - 1) / z->block_size;
  uint64_t bad = UINT64_MAX; /* block being re-read, and how often */
  int rereads = 0;
  for (uint64_t i = off / z->block_size; i <= last;) {
    uint64_t end = run_end(z, i, last), j = i;
    const uint8_t *run;
    OBD_TRY(read_run(z, s, i, end, &run));
    int rc = 0;
    for (; j < end && rc == 0; j++)
      rc = copy_block(z, s, j, run + (z->start[j] - z->start[i]), dst, n, off);
    if (rc == 0) {
      i = end;
      continue;
    }
    j--;
    if (rc != OBD_E_CORRUPT || !invalidate_block(z, j)) return rc;
    if (j != bad) rereads = 0;
    if (rereads++ == ZFILE_REREADS) return rc;
    bad = j;
    i = j;
  }
  return 0;
}

/* ---- obd_file ops ---- */

static int64_t zfile_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  zfile_reader *z = (zfile_reader *)f;
  if (off >= f->size || n == 0) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  zfile_slot *s = slot_get(z);
  int rc = read_blocks(z, s, buf, n, off);
  slot_put(z, s);
  return rc < 0 ? rc : (int64_t)n;
}

static void zfile_close(obd_file *f) {
  zfile_reader *z = (zfile_reader *)f;
  if (z->own_src) obd_file_close(z->src);
  reader_free(z);
}

static const obd_file_ops zfile_reader_ops = {
    .pread = zfile_pread,
    .close = zfile_close,
};

static int open_steps(zfile_reader *z) {
  OBD_TRY(read_header(z));
  if (!(z->info.header.flags & ZFILE_FLAG_HEADER_OVERWRITE)) OBD_TRY(read_trailer(z));
  OBD_TRY(check_options(z));
  OBD_TRY(check_index_location(z));
  OBD_TRY(load_index(z));
  /* A small file needs no more scratch than all its blocks take. */
  uint64_t all = z->start[z->nblocks] - z->start[0];
  z->cbuf_cap = all < ZFILE_RUN_BYTES ? (size_t)all : ZFILE_RUN_BYTES;
  if (z->cbuf_cap < z->max_stored) z->cbuf_cap = z->max_stored;
  return pool_init(z);
}

int zfile_open(obd_file *src, int own_src, obd_file **out) {
  zfile_reader *z = obd_calloc(1, sizeof *z);
  if (!z) {
    int rc = obd_fail(OBD_E_NOMEM, "%s: zfile open", src->name);
    if (own_src) obd_file_close(src);
    return rc;
  }
  z->src = src;
  int rc = open_steps(z);
  if (rc < 0) {
    reader_free(z);
    if (own_src) obd_file_close(src);
    return rc;
  }
  z->own_src = own_src;
  obd_file_init(&z->base, &zfile_reader_ops, selected(z)->original_file_size,
                src->name);
  *out = &z->base;
  return 0;
}

int zfile_get_info(obd_file *f, zfile_info *out) {
  if (!f || f->ops != &zfile_reader_ops)
    return obd_fail(OBD_E_INVAL, "%s: not a zfile reader", f ? f->name : "(null)");
  zfile_reader *z = (zfile_reader *)f;
  *out = z->info;
  out->blocks = z->nblocks;
  out->data_offset = z->start[0];
  return 0;
}

int zfile_verify(obd_file *f, uint64_t *bad_block) {
  if (!f || f->ops != &zfile_reader_ops)
    return obd_fail(OBD_E_INVAL, "%s: not a zfile reader", f ? f->name : "(null)");
  zfile_reader *z = (zfile_reader *)f;
  zfile_slot *s = slot_get(z);
  int rc = 0;
  for (uint64_t i = 0; i < z->nblocks && rc == 0;) {
    uint64_t end = run_end(z, i, z->nblocks - 1);
    const uint8_t *run = NULL;
    rc = read_run(z, s, i, end, &run);
    if (rc < 0 && bad_block) *bad_block = i;
    for (uint64_t j = i; j < end && rc == 0; j++) {
      rc = decode_block(z, s, j, run + (z->start[j] - z->start[i]), s->dbuf);
      if (rc < 0 && bad_block) *bad_block = j;
    }
    i = end;
  }
  slot_put(z, s);
  return rc;
}
