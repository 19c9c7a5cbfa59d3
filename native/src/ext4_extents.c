/* Where a file's bytes are in the image: its data runs, for list prefetch
 * (spec §8.5 uses FIEMAP on a mounted filesystem; here libext2fs reads the
 * extent tree, or the block map, straight from the image). */
#include <string.h>

#include "ext4_priv.h"

typedef struct runs {
  ext4_extent_fn fn;
  void *ctx;
  size_t left;      /* runs still allowed */
  uint64_t bs;
  /* The run being merged: blocks [lblk, lblk + len) at pblk. */
  blk64_t lblk, pblk;
  uint64_t len;
  int rc;           /* fn's non-zero result, or 0 */
} runs;

/* Reports the pending run; 1 when the walk must stop. */
static int flush(runs *r) {
  if (r->len == 0) return r->rc != 0 || r->left == 0;
  if (r->left == 0) return 1;
  r->left--;
  r->rc = r->fn(r->ctx, r->lblk * r->bs, r->pblk * r->bs, r->len * r->bs);
  r->len = 0;
  return r->rc != 0 || r->left == 0;
}

/* Adds blocks [lblk, +len) at pblk, merging with the pending run. */
static int add(runs *r, blk64_t lblk, blk64_t pblk, uint64_t len) {
  if (r->len && r->lblk + r->len == lblk && r->pblk + r->len == pblk) {
    r->len += len;
    return 0;
  }
  if (flush(r)) return 1;
  r->lblk = lblk;
  r->pblk = pblk;
  r->len = len;
  return 0;
}

static int walk_extents(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                        runs *r, const char *path) {
  ext2_extent_handle_t h;
  errcode_t e = ext2fs_extent_open2(fs->fs, ino, (struct ext2_inode *)in, &h);
  if (e) return ext4_fail(fs, e, "read the extents of", path);
  struct ext2fs_extent ex;
  /* EXT2_EXTENT_NEXT visits index nodes too (twice); only leaves map data. */
  for (e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e;
       e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
    if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) || ex.e_len == 0) continue;
    if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) continue; /* reads as zeros */
    if (add(r, ex.e_lblk, ex.e_pblk, ex.e_len)) break;
  }
  ext2fs_extent_free(h);
  if (e && e != EXT2_ET_EXTENT_NO_NEXT && e != EXT2_ET_EXTENT_NO_DOWN)
    return ext4_fail(fs, e, "walk the extents of", path);
  return 0;
}

static int on_block(ext2_filsys f, blk64_t *blocknr, e2_blkcnt_t blockcnt,
                    blk64_t ref_blk, int ref_offset, void *ctx) {
  (void)f;
  (void)ref_blk;
  (void)ref_offset;
  if (blockcnt < 0 || *blocknr == 0) return 0; /* mapping blocks, holes */
  return add(ctx, (blk64_t)blockcnt, *blocknr, 1) ? BLOCK_ABORT : 0;
}

int ext4_file_extents(ext4_fs *fs, const char *path, size_t max_runs,
                      ext4_stat *st, ext4_extent_fn fn, void *ctx) {
  ext2_ino_t ino;
  struct ext2_inode_large in;
  OBD_TRY(ext4_resolve(fs, path, &ino));
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  if (!LINUX_S_ISREG(in.i_mode))
    return obd_fail(OBD_E_INVAL, "extents of %s: not a regular file", path);
  if (st) {
    memset(st, 0, sizeof *st);
    st->ino = ino;
    st->size = EXT2_I_SIZE(&in);
    st->mode = in.i_mode;
    st->nlink = in.i_links_count;
    st->mtime = ext4_get_mtime(&in);
  }
  runs r = {fn, ctx, max_runs, fs->fs->blocksize, 0, 0, 0, 0};
  if (in.i_flags & EXT4_INLINE_DATA_FL) return 0; /* bytes live in the inode */
  int rc = 0;
  if (in.i_flags & EXT4_EXTENTS_FL) {
    rc = walk_extents(fs, ino, &in, &r, path);
  } else {
    errcode_t e = ext2fs_block_iterate3(fs->fs, ino,
                                        BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
                                        NULL, on_block, &r);
    if (e) rc = ext4_fail(fs, e, "read the block map of", path);
  }
  if (rc == 0) flush(&r);
  return rc < 0 ? rc : r.rc;
}
