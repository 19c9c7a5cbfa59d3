/* Streaming regular files: data arrives in order, is staged per 1 MiB,
 * and each run of non-zero blocks gets a contiguous physical range, is
 * written straight to the image and mapped by one extent (extended while
 * the next run continues it). All-zero blocks are never allocated, so
 * sparse files stay sparse. The extent tree is edited through libext2fs's
 * handle, which keeps a pointer to the inode held here, so the inode on
 * disk is consistent after every run. */
#include <string.h>

#include "alloc.h"
#include "ext4_priv.h"

#define MAX_INIT_EXTENT 32768u /* blocks in an initialised extent */

struct ext4_file {
  ext4_fs *fs;
  ext2_ino_t ino;
  struct ext2_inode_large in;
  ext2_extent_handle_t h;
  struct ext2fs_extent last; /* the last extent mapped */
  int have_last;
  uint64_t size, received;
  size_t fill;     /* bytes staged in fs->chunk */
  blk64_t lblk;    /* logical block of fs->chunk[0] */
  blk64_t goal;
  int err;         /* first failure; later writes repeat it */
  char path[EXT4_PATH_MAX];
};

static int block_is_zero(const uint8_t *p, size_t n) {
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    acc |= w;
  }
  return acc == 0;
}

static int map_run(ext4_file *f, blk64_t lblk, blk64_t pblk, blk64_t len) {
  ext4_fs *fs = f->fs;
  errcode_t e;
  struct ext2fs_extent *x = &f->last;
  if (f->have_last && x->e_lblk + x->e_len == lblk &&
      x->e_pblk + x->e_len == pblk && x->e_len + len <= MAX_INIT_EXTENT) {
    x->e_len += (uint32_t)len;
    e = ext2fs_extent_replace(f->h, 0, x);
  } else {
    struct ext2fs_extent n = {.e_pblk = pblk, .e_lblk = lblk,
                              .e_len = (uint32_t)len, .e_flags = 0};
    e = ext2fs_extent_insert(f->h, f->have_last ? EXT2_EXTENT_INSERT_AFTER : 0,
                             &n);
    if (!e) e = ext2fs_extent_fix_parents(f->h);
    if (!e) {
      *x = n;
      f->have_last = 1;
    }
  }
  if (!e) e = ext2fs_iblk_add_blocks(fs->fs, (struct ext2_inode *)&f->in, len);
  return e ? ext4_fail(fs, e, "map data of", f->path) : 0;
}

/* Allocates, writes and maps n blocks of data for logical block lblk. */
static int write_run(ext4_file *f, blk64_t lblk, const uint8_t *data,
                     blk64_t n) {
  ext4_fs *fs = f->fs;
  while (n > 0) {
    blk64_t want = n < MAX_INIT_EXTENT ? n : MAX_INIT_EXTENT, pblk, plen;
    errcode_t e = ext2fs_new_range(fs->fs, 0, f->goal, want, NULL, &pblk, &plen);
    if (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == ENOSPC)
      return obd_fail(OBD_E_RANGE,
                      "write %s: no space left in the filesystem (%llu of %llu "
                      "bytes written)",
                      f->path, (unsigned long long)(lblk * fs->fs->blocksize),
                      (unsigned long long)f->size);
    if (e) return ext4_fail(fs, e, "allocate blocks for", f->path);
    if (plen > want) plen = want;
    ext2fs_block_alloc_stats_range(fs->fs, pblk, (blk_t)plen, +1);
    e = ext4_io_write_through(fs->fs->io, pblk, plen, data);
    if (e) return ext4_fail(fs, e, "write data of", f->path);
    OBD_TRY(map_run(f, lblk, pblk, plen));
    f->goal = pblk + plen;
    lblk += plen;
    data += plen * fs->fs->blocksize;
    n -= plen;
  }
  return 0;
}

/* Writes nblocks whole blocks at logical block lblk, skipping zero ones. */
static int write_blocks(ext4_file *f, blk64_t lblk, const uint8_t *data,
                        size_t nblocks) {
  size_t bs = f->fs->fs->blocksize;
  for (size_t b = 0; b < nblocks;) {
    if (block_is_zero(data + b * bs, bs)) {
      b++;
      continue;
    }
    size_t s = b;
    while (b < nblocks && !block_is_zero(data + b * bs, bs)) b++;
    OBD_TRY(write_run(f, lblk + s, data + s * bs, b - s));
  }
  return 0;
}

int ext4_file_begin(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                    uint32_t gid, int64_t mtime, uint64_t size, unsigned flags,
                    ext4_file **out) {
  *out = NULL;
  if (fs->open_file)
    return obd_fail(OBD_E_INVAL, "write %s: %s is still open", path,
                    fs->open_file->path);
  size_t plen = strlen(path);
  if (plen >= EXT4_PATH_MAX)
    return obd_fail(OBD_E_INVAL, "%.64s...: path longer than %u bytes", path,
                    EXT4_PATH_MAX - 1);
  ext4_file *f = obd_calloc(1, sizeof *f);
  if (!f) return obd_fail(OBD_E_NOMEM, "write %s: file state", path);
  memcpy(f->path, path, plen + 1);
  f->fs = fs;
  f->size = size;
  ext2_ino_t dir, existing;
  char name[EXT4_NAME_MAX + 1];
  int rc = ext4_resolve_parent(fs, path, flags, mtime, &dir, name);
  if (rc == 0) rc = ext4_clear_slot(fs, dir, name, 0, &existing, path);
  if (rc == 0)
    rc = ext4_new_inode(fs, dir, LINUX_S_IFREG | (mode & 07777), uid, gid,
                        mtime, &f->ino, &f->in, path);
  if (rc < 0) {
    obd_free(f);
    return rc;
  }
  errcode_t e = ext2fs_inode_size_set(fs->fs, (struct ext2_inode *)&f->in, size);
  /* Opening on an empty i_block writes the extent header into f->in. */
  if (!e) e = ext2fs_extent_open2(fs->fs, f->ino, (struct ext2_inode *)&f->in,
                                  &f->h);
  rc = e ? ext4_fail(fs, e, "create", path) : 0;
  if (rc == 0) rc = ext4_write_new_inode(fs, f->ino, &f->in, path);
  if (rc == 0) rc = ext4_link(fs, dir, name, f->ino, f->in.i_mode, path);
  if (rc < 0) {
    if (f->h) ext2fs_extent_free(f->h);
    ext4_release_inode(fs, f->ino);
    obd_free(f);
    return rc;
  }
  f->goal = ext2fs_find_inode_goal(fs->fs, f->ino, (struct ext2_inode *)&f->in, 0);
  fs->open_file = f;
  *out = f;
  return 0;
}

static int flush_chunk(ext4_file *f) {
  ext4_fs *fs = f->fs;
  size_t bs = fs->fs->blocksize;
  size_t nblocks = (f->fill + bs - 1) / bs;
  memset(fs->chunk + f->fill, 0, nblocks * bs - f->fill);
  int rc = write_blocks(f, f->lblk, fs->chunk, nblocks);
  f->lblk += nblocks;
  f->fill = 0;
  return rc;
}

int ext4_file_write(ext4_file *f, const void *buf, size_t len) {
  if (f->err) return obd_fail(f->err, "write %s: an earlier write failed", f->path);
  if (len > f->size - f->received) {
    f->err = OBD_E_RANGE;
    return obd_fail(OBD_E_RANGE, "write %s: more than the %llu bytes announced",
                    f->path, (unsigned long long)f->size);
  }
  ext4_fs *fs = f->fs;
  size_t bs = fs->fs->blocksize;
  const uint8_t *p = buf;
  int rc = 0;
  f->received += len;
  while (len > 0 && rc == 0) {
    if (f->fill == 0 && len >= fs->chunk_size) {
      /* Whole chunks straight from the caller's buffer, no copy. */
      size_t n = len / bs;
      rc = write_blocks(f, f->lblk, p, n);
      f->lblk += n;
      p += n * bs;
      len -= n * bs;
      continue;
    }
    size_t k = fs->chunk_size - f->fill;
    if (k > len) k = len;
    memcpy(fs->chunk + f->fill, p, k);
    f->fill += k;
    p += k;
    len -= k;
    if (f->fill == fs->chunk_size) rc = flush_chunk(f);
  }
  if (rc < 0) f->err = rc;
  return rc;
}

int ext4_file_end(ext4_file *f) {
  ext4_fs *fs = f->fs;
  int rc = f->err;
  if (rc == 0 && f->fill > 0) rc = flush_chunk(f);
  if (rc == 0 && f->received != f->size)
    rc = obd_fail(OBD_E_TRUNCATED, "write %s: %llu of %llu bytes arrived",
                  f->path, (unsigned long long)f->received,
                  (unsigned long long)f->size);
  ext2fs_extent_free(f->h);
  int w = ext4_write_inode(fs, f->ino, &f->in, f->path);
  if (rc == 0) rc = w;
  fs->open_file = NULL;
  obd_free(f);
  return rc;
}

int ext4_write_file(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                    uint32_t gid, int64_t mtime, const void *data, size_t len,
                    unsigned flags) {
  ext4_file *f;
  OBD_TRY(ext4_file_begin(fs, path, mode, uid, gid, mtime, len, flags, &f));
  int rc = len ? ext4_file_write(f, data, len) : 0;
  int end = ext4_file_end(f);
  return rc < 0 ? rc : end;
}
