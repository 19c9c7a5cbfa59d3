/* Formatting the first layer with the §7.3 parameters, with libext2fs
 * directly (the steps mke2fs takes for this feature set, nothing more). */
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "ext4_priv.h"
#include "uuid.h"

#define LPF_MIN_BYTES (16u * 1024u) /* lost+found, as mke2fs sizes it */

typedef struct mkfs_ctx {
  uint64_t blocks;
  int64_t now;
} mkfs_ctx;

static void fill_params(struct ext2_super_block *p, uint64_t blocks) {
  memset(p, 0, sizeof *p);
  ext2fs_blocks_count_set(p, blocks);
  p->s_log_block_size = 2; /* 1024 << 2 = EXT4_BLOCK_SIZE */
  p->s_log_cluster_size = 2;
  p->s_rev_level = EXT2_DYNAMIC_REV;
  p->s_inode_size = EXT4_INODE_SIZE;
  uint64_t inodes = blocks * EXT4_BLOCK_SIZE / EXT4_INODE_RATIO;
  p->s_inodes_count = inodes > 0xffffffffu ? 0xffffffffu : (uint32_t)inodes;
  ext2fs_r_blocks_count_set(p, blocks * EXT4_RESERVED_PERCENT / 100);
  p->s_desc_size = EXT4_DESC_SIZE;
  p->s_log_groups_per_flex = 0;
  p->s_backup_bgs[0] = 1;
  p->s_backup_bgs[1] = ~0u;
  p->s_max_mnt_count = -1;
  p->s_def_hash_version = EXT2_HASH_HALF_MD4;
  p->s_min_extra_isize = p->s_want_extra_isize =
      sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  ext2fs_set_feature_64bit(p);
  ext2fs_set_feature_sparse_super(p);
  ext2fs_set_feature_sparse_super2(p);
  ext2fs_set_feature_filetype(p);
  ext2fs_set_feature_resize_inode(p);
  ext2fs_set_feature_dir_index(p);
  ext2fs_set_feature_xattr(p);
  ext2fs_set_feature_dir_nlink(p);
  ext2fs_set_feature_large_file(p);
  ext2fs_set_feature_huge_file(p);
  ext2fs_set_feature_flex_bg(p);
  ext2fs_set_feature_extents(p);
  ext2fs_set_feature_extra_isize(p);
}

static int set_dir_attr(ext4_fs *fs, ext2_ino_t ino, uint32_t mode,
                        int64_t now, const char *path) {
  struct ext2_inode_large in;
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  in.i_mode = (uint16_t)(LINUX_S_IFDIR | mode);
  ext4_set_owner(&in, 0, 0);
  if (in.i_extra_isize == 0)
    in.i_extra_isize = sizeof in - EXT2_GOOD_OLD_INODE_SIZE;
  ext4_set_times(&in, now);
  return ext4_write_inode(fs, ino, &in, path);
}

static int build(ext4_fs *fs, const mkfs_ctx *c) {
  ext2_filsys f = fs->fs;
  uint8_t uuid[16];
  OBD_TRY(obd_uuid_parse(EXT4_FS_UUID, uuid));
  memcpy(f->super->s_uuid, uuid, sizeof uuid);
  memcpy(f->super->s_hash_seed, uuid, sizeof uuid);
  f->super->s_def_hash_version = EXT2_HASH_HALF_MD4;
  /* The dirhash of names with high-bit bytes depends on char signedness;
   * the flag records which one this host (and libext2fs) used. */
  f->super->s_flags |= (char)0x80 < 0 ? EXT2_FLAGS_SIGNED_HASH
                                      : EXT2_FLAGS_UNSIGNED_HASH;
  f->super->s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
  f->super->s_max_mnt_count = -1;
  f->super->s_mkfs_time = f->super->s_wtime = f->super->s_lastcheck =
      (uint32_t)c->now;
  f->now = (time_t)c->now;
  ext2fs_mark_super_dirty(f);

  errcode_t e = ext2fs_allocate_tables(f);
  if (e) return ext4_fail(fs, e, "allocate tables of", "new filesystem");
  /* The image reads as zeros (fresh or discarded), so the inode tables
   * need no zeroing. */
  e = ext2fs_mkdir(f, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL);
  if (e) return ext4_fail(fs, e, "make", "/");
  OBD_TRY(set_dir_attr(fs, EXT2_ROOT_INO, 0755, c->now, "/"));

  ext2_ino_t lpf;
  e = ext2fs_mkdir(f, EXT2_ROOT_INO, 0, "lost+found");
  if (!e) e = ext2fs_lookup(f, EXT2_ROOT_INO, "lost+found", 10, NULL, &lpf);
  for (unsigned size = f->blocksize; !e && size < LPF_MIN_BYTES;
       size += f->blocksize)
    e = ext2fs_expand_dir(f, lpf);
  if (e) return ext4_fail(fs, e, "make", "/lost+found");
  OBD_TRY(set_dir_attr(fs, lpf, 0700, c->now, "/lost+found"));
  OBD_TRY(set_dir_attr(fs, EXT2_ROOT_INO, 0755, c->now, "/"));

  for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(f->super); i++)
    ext2fs_inode_alloc_stats2(f, i, +1, 0);
  ext2fs_mark_inode_bitmap2(f->inode_map, EXT2_BAD_INO);
  ext2fs_inode_alloc_stats2(f, EXT2_BAD_INO, +1, 0);
  e = ext2fs_update_bb_inode(f, NULL);
  if (!e) e = ext2fs_create_resize_inode(f);
  if (e) return ext4_fail(fs, e, "make reserved inodes of", "new filesystem");
  return 0;
}

static int do_mkfs(ext4_fs *fs, const char *name, void *ctx) {
  const mkfs_ctx *c = ctx;
  struct ext2_super_block param;
  fill_params(&param, c->blocks);
  errcode_t e = ext2fs_initialize(name, EXT2_FLAG_64BITS, &param,
                                  ext4_io_manager(), &fs->fs);
  if (e) {
    fs->fs = NULL;
    return ext4_fail(fs, e, "initialise", "new filesystem");
  }
  int rc = build(fs, c);
  if (rc < 0) {
    ext2fs_free(fs->fs);
    return rc;
  }
  e = ext2fs_close_free(&fs->fs);
  if (e) {
    if (fs->fs) ext2fs_free(fs->fs);
    return ext4_fail(fs, e, "write", "new filesystem");
  }
  return 0;
}

int ext4_mkfs(obd_image *img, const ext4_mkfs_options *opt) {
  uint64_t vsize = obd_image_size(img);
  uint64_t size = opt && opt->size ? opt->size : vsize;
  if (size > vsize)
    return obd_fail(OBD_E_RANGE, "mkfs: %llu bytes exceed the %llu-byte image",
                    (unsigned long long)size, (unsigned long long)vsize);
  size -= size % EXT4_BLOCK_SIZE;
  if (size < EXT4_MIN_SIZE)
    return obd_fail(OBD_E_RANGE, "mkfs: %llu bytes is below the %llu minimum",
                    (unsigned long long)size, (unsigned long long)EXT4_MIN_SIZE);
  mkfs_ctx c = {size / EXT4_BLOCK_SIZE,
                opt && opt->timestamp ? opt->timestamp : (int64_t)time(NULL)};
  uint64_t s, e;
  if (obd_image_next_data(img, 0, &s, &e)) {
    int rc = obd_image_discard(img, 0, vsize - vsize % LSMT_SECTOR);
    if (rc < 0) return obd_fail_wrap(rc, "mkfs: discard");
  }
  ext4_fs *fs = obd_calloc(1, sizeof *fs);
  if (!fs) return obd_fail(OBD_E_NOMEM, "mkfs: state");
  fs->target.img = img;
  char name[EXT4_IO_NAME_MAX];
  int rc = ext4_io_register(&fs->target, name);
  if (rc == 0) {
    rc = do_mkfs(fs, name, &c);
    ext4_io_unregister(name);
  }
  obd_free(fs);
  return rc;
}
