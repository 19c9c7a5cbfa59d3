/* The libext2fs io_manager over an obd_image, with a write-back block
 * cache.
 *
 * Why a cache: libext2fs rewrites the same metadata block many times
 * (an inode table block once per inode it holds, a directory block once per
 * entry). On an append-only LSMT layer (§2.6) every rewrite would append
 * another copy to the data file; the cache absorbs them and writes each
 * dirty block once per flush, sorted and coalesced into runs. Single-block
 * I/O goes through the cache; multi-block writes (file data, zeroing) go
 * straight to the image and refresh whatever the cache holds of them.
 *
 * libext2fs io managers are global structs opened by name, so the image is
 * handed over through a small locked registry: ext4_io_register publishes
 * an ext4_io_target under "obd:<n>" for the one open call that needs it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ext4_priv.h"

#define REG_MAX 64u
#define FLUSH_RUN (1u << 20) /* bytes per coalesced write-back */
#define NIL (-1)

/* ---- name registry ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char name[EXT4_IO_NAME_MAX];
  ext4_io_target *t;
} reg[REG_MAX];
static unsigned long long reg_seq;

int ext4_io_register(ext4_io_target *t, char name[EXT4_IO_NAME_MAX]) {
  int rc = obd_fail(OBD_E_RANGE, "ext4 io: more than %u filesystems opening",
                    REG_MAX);
  pthread_mutex_lock(&reg_lock);
  for (unsigned i = 0; i < REG_MAX; i++) {
    if (reg[i].t) continue;
    snprintf(reg[i].name, sizeof reg[i].name, "obd:%llu", ++reg_seq);
    reg[i].t = t;
    memcpy(name, reg[i].name, EXT4_IO_NAME_MAX);
    rc = 0;
    break;
  }
  pthread_mutex_unlock(&reg_lock);
  if (rc == 0) obd_clear_error();
  return rc;
}

void ext4_io_unregister(const char *name) {
  pthread_mutex_lock(&reg_lock);
  for (unsigned i = 0; i < REG_MAX; i++)
    if (reg[i].t && strcmp(reg[i].name, name) == 0) reg[i].t = NULL;
  pthread_mutex_unlock(&reg_lock);
}

static ext4_io_target *reg_find(const char *name) {
  ext4_io_target *t = NULL;
  pthread_mutex_lock(&reg_lock);
  for (unsigned i = 0; i < REG_MAX && !t; i++)
    if (reg[i].t && strcmp(reg[i].name, name) == 0) t = reg[i].t;
  pthread_mutex_unlock(&reg_lock);
  return t;
}

/* ---- the channel ---- */

typedef struct cache_ent {
  blk64_t blk;
  int32_t hnext; /* bucket chain */
  int32_t prev;  /* LRU list, most recent at head */
  int32_t next;
  uint8_t used;
  uint8_t dirty;
} cache_ent;

typedef struct obd_io {
  ext4_io_target *t;
  uint64_t dev_size;
  uint32_t bs;
  uint32_t cap; /* entries */
  cache_ent *ent;
  uint8_t *data; /* cap * bs */
  int32_t *bucket;
  uint32_t nbucket; /* power of two */
  int32_t head, tail, free_head;
  uint32_t ndirty;
  uint8_t *run; /* FLUSH_RUN bytes: coalescing and partial blocks */
  int32_t *order; /* cap: dirty entries sorted for write-back */
} obd_io;

static struct struct_io_manager manager;

/* Keeps the first failure: later ones are usually its consequences. */
static errcode_t io_error(obd_io *io, int code, errcode_t e) {
  if (io->t->err == 0) {
    io->t->err = code;
    snprintf(io->t->detail, sizeof io->t->detail, "%s", obd_last_error());
  }
  return e;
}

static errcode_t raw_read(obd_io *io, uint64_t off, size_t n, void *buf) {
  if (off > io->dev_size || n > io->dev_size - off)
    return io_error(io,
                    obd_fail(OBD_E_RANGE,
                             "read of %zu bytes at %llu past the %llu-byte image",
                             n, (unsigned long long)off,
                             (unsigned long long)io->dev_size),
                    EXT2_ET_SHORT_READ);
  int64_t r = obd_image_pread(io->t->img, buf, n, off);
  if (r < 0) return io_error(io, (int)r, EXT2_ET_SHORT_READ);
  if ((size_t)r != n)
    return io_error(io,
                    obd_fail(OBD_E_TRUNCATED, "short image read at %llu",
                             (unsigned long long)off),
                    EXT2_ET_SHORT_READ);
  return 0;
}

static errcode_t raw_write(obd_io *io, uint64_t off, size_t n,
                           const void *buf) {
  if (off > io->dev_size || n > io->dev_size - off)
    return io_error(io,
                    obd_fail(OBD_E_RANGE,
                             "write of %zu bytes at %llu past the %llu-byte image",
                             n, (unsigned long long)off,
                             (unsigned long long)io->dev_size),
                    EXT2_ET_SHORT_WRITE);
  int64_t r = obd_image_pwrite(io->t->img, buf, n, off);
  if (r < 0) return io_error(io, (int)r, EXT2_ET_SHORT_WRITE);
  return 0;
}

static uint32_t hash_blk(const obd_io *io, blk64_t b) {
  return (uint32_t)((b * 0x9E3779B97F4A7C15ull) >> 40) & (io->nbucket - 1);
}

static int32_t cache_find(const obd_io *io, blk64_t b) {
  for (int32_t i = io->bucket[hash_blk(io, b)]; i != NIL; i = io->ent[i].hnext)
    if (io->ent[i].blk == b) return i;
  return NIL;
}

static uint8_t *slot_data(const obd_io *io, int32_t i) {
  return io->data + (size_t)i * io->bs;
}

static void lru_unlink(obd_io *io, int32_t i) {
  cache_ent *e = &io->ent[i];
  if (e->prev != NIL) io->ent[e->prev].next = e->next;
  else io->head = e->next;
  if (e->next != NIL) io->ent[e->next].prev = e->prev;
  else io->tail = e->prev;
  e->prev = e->next = NIL;
}

static void lru_push(obd_io *io, int32_t i) {
  cache_ent *e = &io->ent[i];
  e->prev = NIL;
  e->next = io->head;
  if (io->head != NIL) io->ent[io->head].prev = i;
  io->head = i;
  if (io->tail == NIL) io->tail = i;
}

static void cache_drop(obd_io *io, int32_t i) {
  cache_ent *e = &io->ent[i];
  int32_t *p = &io->bucket[hash_blk(io, e->blk)];
  while (*p != i) p = &io->ent[*p].hnext;
  *p = e->hnext;
  lru_unlink(io, i);
  if (e->dirty) io->ndirty--;
  e->used = e->dirty = 0;
  e->hnext = io->free_head;
  io->free_head = i;
}

static int cmp_blk(const void *a, const void *b, void *ctx) {
  const obd_io *io = ctx;
  blk64_t x = io->ent[*(const int32_t *)a].blk;
  blk64_t y = io->ent[*(const int32_t *)b].blk;
  return x < y ? -1 : x > y;
}

/* Writes every dirty block, in block order, adjacent ones in one write. */
static errcode_t cache_flush(obd_io *io) {
  if (io->ndirty == 0) return 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < io->cap; i++)
    if (io->ent[i].used && io->ent[i].dirty) io->order[n++] = (int32_t)i;
  qsort_r(io->order, n, sizeof *io->order, cmp_blk, io);
  uint32_t per_run = FLUSH_RUN / io->bs;
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i + 1;
    while (j < n && j - i < per_run &&
           io->ent[io->order[j]].blk == io->ent[io->order[i]].blk + (j - i))
      j++;
    for (uint32_t k = i; k < j; k++)
      memcpy(io->run + (size_t)(k - i) * io->bs, slot_data(io, io->order[k]),
             io->bs);
    errcode_t e = raw_write(io, io->ent[io->order[i]].blk * io->bs,
                            (size_t)(j - i) * io->bs, io->run);
    if (e) return e;
    for (uint32_t k = i; k < j; k++) io->ent[io->order[k]].dirty = 0;
    io->ndirty -= j - i;
    i = j;
  }
  return 0;
}

/* A slot for block b (not cached yet), evicting the least recent entry; a
 * dirty victim first flushes everything so write-back stays sorted. */
static errcode_t cache_alloc(obd_io *io, blk64_t b, int32_t *out) {
  int32_t i = io->free_head;
  if (i != NIL) {
    io->free_head = io->ent[i].hnext;
  } else {
    i = io->tail;
    if (io->ent[i].dirty) {
      errcode_t e = cache_flush(io);
      if (e) return e;
    }
    cache_drop(io, i);
    io->free_head = io->ent[i].hnext;
  }
  cache_ent *e = &io->ent[i];
  e->blk = b;
  e->used = 1;
  e->dirty = 0;
  uint32_t h = hash_blk(io, b);
  e->hnext = io->bucket[h];
  io->bucket[h] = i;
  lru_push(io, i);
  *out = i;
  return 0;
}

/* The cached copy of block b, read from the image on a miss. */
static errcode_t cache_get(obd_io *io, blk64_t b, int32_t *out) {
  int32_t i = cache_find(io, b);
  if (i != NIL) {
    lru_unlink(io, i);
    lru_push(io, i);
    *out = i;
    return 0;
  }
  errcode_t e = cache_alloc(io, b, &i);
  if (e) return e;
  e = raw_read(io, b * io->bs, io->bs, slot_data(io, i));
  if (e) {
    cache_drop(io, i);
    return e;
  }
  *out = i;
  return 0;
}

static void mark_dirty(obd_io *io, int32_t i) {
  if (!io->ent[i].dirty) io->ndirty++;
  io->ent[i].dirty = 1;
}

/* Calls fn on every cached block in [b, b + n). */
static void cache_each(obd_io *io, blk64_t b, uint64_t n,
                       void (*fn)(obd_io *, int32_t, void *), void *ctx) {
  if (n <= io->cap) {
    for (uint64_t k = 0; k < n; k++) {
      int32_t i = cache_find(io, b + k);
      if (i != NIL) fn(io, i, ctx);
    }
    return;
  }
  for (uint32_t i = 0; i < io->cap; i++)
    if (io->ent[i].used && io->ent[i].blk >= b && io->ent[i].blk - b < n)
      fn(io, (int32_t)i, ctx);
}

typedef struct span {
  blk64_t b;
  uint8_t *buf;
  const uint8_t *cbuf;
} span;

static void overlay_dirty(obd_io *io, int32_t i, void *ctx) {
  span *s = ctx;
  if (io->ent[i].dirty)
    memcpy(s->buf + (size_t)(io->ent[i].blk - s->b) * io->bs,
           slot_data(io, i), io->bs);
}

static void refresh_clean(obd_io *io, int32_t i, void *ctx) {
  span *s = ctx;
  memcpy(slot_data(io, i), s->cbuf + (size_t)(io->ent[i].blk - s->b) * io->bs,
         io->bs);
  if (io->ent[i].dirty) io->ndirty--;
  io->ent[i].dirty = 0;
}

static void drop_entry(obd_io *io, int32_t i, void *ctx) {
  (void)ctx;
  cache_drop(io, i);
}

/* Byte-granular read or write through the cache (partial blocks, the
 * superblock written by write_byte). */
static errcode_t cache_bytes(obd_io *io, uint64_t off, size_t n, void *rbuf,
                             const void *wbuf) {
  while (n > 0) {
    blk64_t b = off / io->bs;
    size_t in = (size_t)(off % io->bs), k = io->bs - in;
    if (k > n) k = n;
    int32_t i;
    errcode_t e = cache_get(io, b, &i);
    if (e) return e;
    if (wbuf) {
      memcpy(slot_data(io, i) + in, wbuf, k);
      mark_dirty(io, i);
      wbuf = (const uint8_t *)wbuf + k;
    } else {
      memcpy(rbuf, slot_data(io, i) + in, k);
      rbuf = (uint8_t *)rbuf + k;
    }
    off += k;
    n -= k;
  }
  return 0;
}

static errcode_t io_read(io_channel ch, unsigned long long block, int count,
                         void *data) {
  obd_io *io = ch->private_data;
  if (count < 0) return cache_bytes(io, block * io->bs, (size_t)-count, data, NULL);
  if (count == 1) {
    int32_t i;
    errcode_t e = cache_get(io, block, &i);
    if (!e) memcpy(data, slot_data(io, i), io->bs);
    return e;
  }
  errcode_t e = raw_read(io, block * io->bs, (size_t)count * io->bs, data);
  if (e || io->ndirty == 0) return e;
  span s = {block, data, NULL};
  cache_each(io, block, (uint64_t)count, overlay_dirty, &s);
  return 0;
}

static errcode_t io_write(io_channel ch, unsigned long long block, int count,
                          const void *data) {
  obd_io *io = ch->private_data;
  if (count < 0)
    return cache_bytes(io, block * io->bs, (size_t)-count, NULL, data);
  if (count == 1) {
    if (block >= io->dev_size / io->bs)
      return io_error(io,
                      obd_fail(OBD_E_RANGE, "write of block %llu past the image end",
                               block),
                      EXT2_ET_SHORT_WRITE);
    int32_t i = cache_find(io, block);
    errcode_t e = 0;
    if (i == NIL) e = cache_alloc(io, block, &i);
    else {
      lru_unlink(io, i);
      lru_push(io, i);
    }
    if (e) return e;
    memcpy(slot_data(io, i), data, io->bs);
    mark_dirty(io, i);
    return 0;
  }
  return ext4_io_write_through(ch, block, (size_t)count, data);
}

errcode_t ext4_io_write_through(io_channel ch, blk64_t blk, size_t count,
                                const void *buf) {
  obd_io *io = ch->private_data;
  errcode_t e = raw_write(io, blk * io->bs, count * io->bs, buf);
  if (e) return e;
  span s = {blk, NULL, buf};
  cache_each(io, blk, count, refresh_clean, &s);
  return 0;
}

static errcode_t io_read32(io_channel ch, unsigned long block, int count,
                           void *data) {
  return io_read(ch, block, count, data);
}

static errcode_t io_write32(io_channel ch, unsigned long block, int count,
                            const void *data) {
  return io_write(ch, block, count, data);
}

static errcode_t io_write_byte(io_channel ch, unsigned long offset, int size,
                               const void *data) {
  if (size < 0) return EXT2_ET_INVALID_ARGUMENT;
  return cache_bytes(ch->private_data, offset, (size_t)size, NULL, data);
}

/* Discarded ranges of an LSMT layer read as zeros (§2.6), so discard and
 * zero-out are the same call. */
static errcode_t io_discard(io_channel ch, unsigned long long block,
                            unsigned long long count) {
  obd_io *io = ch->private_data;
  cache_each(io, block, count, drop_entry, NULL);
  if (block > io->dev_size / io->bs || count > io->dev_size / io->bs - block)
    return io_error(io, obd_fail(OBD_E_RANGE, "discard past the image end"),
                    EXT2_ET_INVALID_ARGUMENT);
  int rc = obd_image_discard(io->t->img, block * io->bs, count * io->bs);
  return rc < 0 ? io_error(io, rc, EXT2_ET_SHORT_WRITE) : 0;
}

static void cache_free(obd_io *io) {
  obd_free(io->ent);
  obd_free(io->data);
  obd_free(io->bucket);
  obd_free(io->order);
  io->ent = NULL;
  io->data = NULL;
  io->bucket = NULL;
  io->order = NULL;
}

/* Sizes the cache for block size bs; the cache must be empty. */
static errcode_t cache_init(obd_io *io, uint32_t bs) {
  cache_free(io);
  io->bs = bs;
  size_t budget = io->t->cache_bytes ? io->t->cache_bytes : EXT4_CACHE_BYTES;
  io->cap = (uint32_t)(budget / bs);
  if (io->cap < 16) io->cap = 16;
  io->nbucket = 1;
  while (io->nbucket < io->cap * 2) io->nbucket <<= 1;
  io->ent = obd_calloc(io->cap, sizeof *io->ent);
  io->data = obd_malloc((size_t)io->cap * bs);
  io->bucket = obd_malloc(io->nbucket * sizeof *io->bucket);
  io->order = obd_malloc(io->cap * sizeof *io->order);
  if (!io->ent || !io->data || !io->bucket || !io->order) {
    cache_free(io);
    return io_error(io, obd_fail(OBD_E_NOMEM, "ext4 io: block cache"),
                    EXT2_ET_NO_MEMORY);
  }
  for (uint32_t i = 0; i < io->nbucket; i++) io->bucket[i] = NIL;
  for (uint32_t i = 0; i < io->cap; i++) {
    io->ent[i].hnext = i + 1 < io->cap ? (int32_t)(i + 1) : NIL;
    io->ent[i].prev = io->ent[i].next = NIL;
  }
  io->free_head = 0;
  io->head = io->tail = NIL;
  io->ndirty = 0;
  return 0;
}

static errcode_t io_set_blksize(io_channel ch, int blksize) {
  obd_io *io = ch->private_data;
  if (blksize < 512 || blksize > 65536 || blksize % 512 != 0)
    return EXT2_ET_INVALID_ARGUMENT;
  if ((uint32_t)blksize == io->bs) return 0;
  errcode_t e = cache_flush(io);
  if (e) return e;
  e = cache_init(io, (uint32_t)blksize);
  if (e) return e;
  ch->block_size = blksize;
  return 0;
}

static errcode_t io_flush(io_channel ch) {
  return cache_flush(ch->private_data);
}

static errcode_t io_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  obd_io *io = ch->private_data;
  errcode_t e = cache_flush(io);
  cache_free(io);
  obd_free(io->run);
  obd_free(io);
  obd_free(ch->name);
  obd_free(ch);
  return e;
}

static errcode_t io_open(const char *name, int flags, io_channel *out) {
  (void)flags;
  ext4_io_target *t = name ? reg_find(name) : NULL;
  if (!t) return EXT2_ET_BAD_DEVICE_NAME;
  io_channel ch = obd_calloc(1, sizeof *ch);
  obd_io *io = obd_calloc(1, sizeof *io);
  size_t len = strlen(name) + 1;
  char *copy = obd_malloc(len);
  uint8_t *run = obd_malloc(FLUSH_RUN);
  if (!ch || !io || !copy || !run) {
    obd_free(ch);
    obd_free(io);
    obd_free(copy);
    obd_free(run);
    return EXT2_ET_NO_MEMORY;
  }
  memcpy(copy, name, len);
  io->t = t;
  io->dev_size = obd_image_size(t->img);
  io->run = run;
  errcode_t e = cache_init(io, 1024);
  if (e) {
    obd_free(io);
    obd_free(copy);
    obd_free(run);
    obd_free(ch);
    return e;
  }
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &manager;
  ch->name = copy;
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->flags = CHANNEL_FLAGS_DISCARD_ZEROES;
  ch->private_data = io;
  *out = ch;
  return 0;
}

static struct struct_io_manager manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "overlaybd image I/O manager",
    .open = io_open,
    .close = io_close,
    .set_blksize = io_set_blksize,
    .read_blk = io_read32,
    .write_blk = io_write32,
    .flush = io_flush,
    .write_byte = io_write_byte,
    .read_blk64 = io_read,
    .write_blk64 = io_write,
    .discard = io_discard,
    .zeroout = io_discard,
};

io_manager ext4_io_manager(void) { return &manager; }
