/* Directory fast paths. libext2fs looks names up and finds room for a new
 * entry by scanning every block of a (non-indexed) directory, which makes
 * filling a directory of n entries cost n^2 / 2 entry visits: 20,000 files
 * in one directory took 7 s. A layer tar creates entries directory by
 * directory, so the writer keeps, for the few directories it used last, a
 * hash of their names, and appends new entries to the last block.
 *
 * The caches are exact: every change this writer makes to a directory goes
 * through ext4_link / remove_entry, which update them, and nothing else
 * writes the filesystem while it is open. */
#include <string.h>

#include "alloc.h"
#include "ext4_priv.h"

/* One directory's names: records (u32 inode, u8 length, name) in an arena,
 * found through an open-addressing table of arena offsets + 1. A removed
 * name keeps its record with inode 0. */
struct ext4_dcache {
  ext2_ino_t dir;
  uint64_t used; /* LRU tick */
  uint32_t *slot;
  uint32_t nslot; /* power of two */
  uint32_t count;
  uint8_t *arena;
  size_t len, cap;
};

static uint32_t name_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *find_slot(const struct ext4_dcache *c, const char *name,
                           size_t n) {
  uint32_t i = name_hash(name, n) & (c->nslot - 1);
  for (;; i = (i + 1) & (c->nslot - 1)) {
    uint32_t s = c->slot[i];
    if (s == 0) return &c->slot[i];
    const uint8_t *r = c->arena + s - 1;
    if (r[4] == n && memcmp(r + 5, name, n) == 0) return &c->slot[i];
  }
}

static int grow(struct ext4_dcache *c) {
  uint32_t nslot = c->nslot ? c->nslot * 2 : 256;
  uint32_t *slot = obd_calloc(nslot, sizeof *slot);
  if (!slot) return -1;
  uint32_t *old = c->slot, oldn = c->nslot;
  c->slot = slot;
  c->nslot = nslot;
  for (uint32_t i = 0; i < oldn; i++) {
    if (old[i] == 0) continue;
    const uint8_t *r = c->arena + old[i] - 1;
    *find_slot(c, (const char *)r + 5, r[4]) = old[i];
  }
  obd_free(old);
  return 0;
}

/* Records name → ino (ino 0 marks it removed). */
static int put(struct ext4_dcache *c, const char *name, size_t n,
               ext2_ino_t ino) {
  if ((c->count + 1) * 2 > c->nslot && grow(c) < 0) return -1;
  uint32_t *s = find_slot(c, name, n);
  if (*s) {
    memcpy(c->arena + *s - 1, &ino, 4);
    return 0;
  }
  if (c->cap - c->len < n + 5) {
    size_t cap = c->cap ? c->cap * 2 : 16384;
    while (cap - c->len < n + 5) cap *= 2;
    if (cap > UINT32_MAX) return -1;
    uint8_t *a = obd_realloc(c->arena, cap);
    if (!a) return -1;
    c->arena = a;
    c->cap = cap;
  }
  uint8_t *r = c->arena + c->len;
  memcpy(r, &ino, 4);
  r[4] = (uint8_t)n;
  memcpy(r + 5, name, n);
  *s = (uint32_t)c->len + 1;
  c->len += n + 5;
  c->count++;
  return 0;
}

static void dcache_free_one(struct ext4_dcache *c) {
  if (!c) return;
  obd_free(c->slot);
  obd_free(c->arena);
  obd_free(c);
}

static int fill(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
                int offset, int blocksize, char *buf, void *ctx) {
  (void)dir;
  (void)entry;
  (void)offset;
  (void)blocksize;
  (void)buf;
  size_t n = (size_t)ext2fs_dirent_name_len(d);
  if (d->inode == 0 || (n == 1 && d->name[0] == '.') ||
      (n == 2 && d->name[0] == '.' && d->name[1] == '.'))
    return 0;
  return put(ctx, d->name, n, d->inode) < 0 ? DIRENT_ABORT : 0;
}

static struct ext4_dcache *find_cache(ext4_fs *fs, ext2_ino_t dir) {
  for (unsigned i = 0; i < EXT4_DCACHE_COUNT; i++)
    if (fs->dcache[i] && fs->dcache[i]->dir == dir) {
      fs->dcache[i]->used = ++fs->dcache_tick;
      return fs->dcache[i];
    }
  return NULL;
}

/* The cache of dir, built by one scan into the least recently used seat.
 * NULL when memory or the scan fails (callers then ask libext2fs). */
static struct ext4_dcache *get_cache(ext4_fs *fs, ext2_ino_t dir) {
  struct ext4_dcache *c = find_cache(fs, dir);
  if (c) return c;
  unsigned victim = 0;
  for (unsigned i = 0; i < EXT4_DCACHE_COUNT; i++) {
    if (!fs->dcache[i]) {
      victim = i;
      break;
    }
    if (fs->dcache[i]->used < fs->dcache[victim]->used) victim = i;
  }
  c = obd_calloc(1, sizeof *c);
  if (!c || grow(c) < 0) {
    dcache_free_one(c);
    return NULL;
  }
  c->dir = dir;
  c->used = ++fs->dcache_tick;
  errcode_t e = ext2fs_dir_iterate2(fs->fs, dir, 0, NULL, fill, c);
  if (e) {
    dcache_free_one(c);
    return NULL;
  }
  dcache_free_one(fs->dcache[victim]);
  fs->dcache[victim] = c;
  return c;
}

int ext4_dcache_lookup(ext4_fs *fs, ext2_ino_t dir, const char *name,
                       ext2_ino_t *ino) {
  struct ext4_dcache *c = get_cache(fs, dir);
  if (!c) return 1;
  uint32_t s = *find_slot(c, name, strlen(name));
  if (s == 0) return OBD_E_NOTFOUND;
  memcpy(ino, c->arena + s - 1, 4);
  return *ino ? 0 : OBD_E_NOTFOUND;
}

void ext4_dcache_update(ext4_fs *fs, ext2_ino_t dir, const char *name,
                        ext2_ino_t ino) {
  struct ext4_dcache *c = find_cache(fs, dir);
  if (c && put(c, name, strlen(name), ino) < 0) ext4_dcache_drop(fs, dir);
}

void ext4_dcache_drop(ext4_fs *fs, ext2_ino_t dir) {
  for (unsigned i = 0; i < EXT4_DCACHE_COUNT; i++)
    if (fs->dcache[i] && fs->dcache[i]->dir == dir) {
      dcache_free_one(fs->dcache[i]);
      fs->dcache[i] = NULL;
    }
}

void ext4_dcache_free(ext4_fs *fs) {
  for (unsigned i = 0; i < EXT4_DCACHE_COUNT; i++) {
    dcache_free_one(fs->dcache[i]);
    fs->dcache[i] = NULL;
  }
}

/* Puts the entry into the directory's last block if it has room, the way
 * the kernel does: the first entry whose record has enough slack past its
 * own name is split. EXT2_ET_DIR_NO_SPACE when the block is full. */
errcode_t ext4_dir_append(ext4_fs *fs, ext2_ino_t dir, const char *name,
                          ext2_ino_t ino, int file_type) {
  ext2_filsys f = fs->fs;
  struct ext2_inode in;
  errcode_t e = ext2fs_read_inode(f, dir, &in);
  if (e) return e;
  uint64_t size = EXT2_I_SIZE(&in);
  if ((in.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) || size == 0 ||
      size % f->blocksize != 0)
    return EXT2_ET_OP_NOT_SUPPORTED;
  blk64_t lblk = size / f->blocksize - 1, pblk = 0;
  e = ext2fs_bmap2(f, dir, &in, NULL, 0, lblk, NULL, &pblk);
  if (!e && pblk == 0) e = EXT2_ET_DIR_CORRUPTED;
  if (!e) e = ext2fs_read_dir_block4(f, pblk, fs->block_buf, 0, dir);
  if (e) return e;
  size_t n = strlen(name);
  unsigned need = EXT2_DIR_REC_LEN(n);
  for (unsigned off = 0; off + 8 <= f->blocksize;) {
    struct ext2_dir_entry *d = (struct ext2_dir_entry *)(fs->block_buf + off);
    unsigned rec_len;
    e = ext2fs_get_rec_len(f, d, &rec_len);
    if (e) return e;
    if (rec_len < 8 || rec_len % 4 || off + rec_len > f->blocksize)
      return EXT2_ET_DIR_CORRUPTED;
    unsigned used = d->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d)) : 0;
    if (rec_len >= used + need) {
      if (used) {
        e = ext2fs_set_rec_len(f, used, d);
        if (e) return e;
        d = (struct ext2_dir_entry *)(fs->block_buf + off + used);
      }
      e = ext2fs_set_rec_len(f, rec_len - used, d);
      if (e) return e;
      d->inode = ino;
      ext2fs_dirent_set_name_len(d, (int)n);
      ext2fs_dirent_set_file_type(d, file_type);
      memcpy(d->name, name, n);
      return ext2fs_write_dir_block4(f, pblk, fs->block_buf, 0, dir);
    }
    off += rec_len;
  }
  return EXT2_ET_DIR_NO_SPACE;
}
