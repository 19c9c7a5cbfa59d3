/* Opening and closing a filesystem, error mapping, and the inode helpers
 * the entry operations share.
 *
 * Inodes are handled as libext2fs's struct ext2_inode_large, which the
 * library keeps in host byte order (it swaps on big-endian hosts), so its
 * fields are assigned directly rather than through le.h. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <et/com_err.h>

#include "alloc.h"
#include "ext4_priv.h"

#define FILE_CHUNK_BYTES (1u << 20)

/* Layouts ffi/ext4_apply.ts reads and writes field by field. */
_Static_assert(offsetof(ext4_mkfs_options, size) == 0, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_mkfs_options, timestamp) == 8, "ffi/ext4_apply.ts");
_Static_assert(sizeof(ext4_mkfs_options) == 16, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, ino) == 0, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, size) == 8, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, mode) == 16, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, uid) == 20, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, gid) == 24, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, nlink) == 28, "ffi/ext4_apply.ts");
_Static_assert(offsetof(ext4_stat, mtime) == 32, "ffi/ext4_apply.ts");
_Static_assert(sizeof(ext4_stat) == 40, "ffi/ext4_apply.ts");

static pthread_once_t err_table_once = PTHREAD_ONCE_INIT;

static void load_err_table(void) { initialize_ext2_error_table(); }

static int code_of(errcode_t e) {
  switch (e) {
  case EXT2_ET_NO_MEMORY:
  case ENOMEM:
    return OBD_E_NOMEM;
  case EXT2_ET_BLOCK_ALLOC_FAIL:
  case EXT2_ET_INODE_ALLOC_FAIL:
  case EXT2_ET_DIR_NO_SPACE:
  case EXT2_ET_EA_NO_SPACE:
  case EXT2_ET_TOOSMALL:
  case EXT2_ET_FILE_TOO_BIG:
  case EXT2_ET_TOO_MANY_REFS:
  case ENOSPC:
    return OBD_E_RANGE;
  case EXT2_ET_FILE_NOT_FOUND:
  case ENOENT:
    return OBD_E_NOTFOUND;
  case EXT2_ET_DIR_EXISTS:
  case EXT2_ET_FILE_EXISTS:
  case EEXIST:
    return OBD_E_EXISTS;
  case EXT2_ET_RO_FILSYS:
    return OBD_E_READONLY;
  case EXT2_ET_BAD_MAGIC:
  case EXT2_ET_REV_TOO_HIGH:
    return OBD_E_FORMAT;
  case EXT2_ET_UNSUPP_FEATURE:
  case EXT2_ET_RO_UNSUPP_FEATURE:
  case EXT2_ET_UNIMPLEMENTED:
  case EXT2_ET_OP_NOT_SUPPORTED:
    return OBD_E_UNSUPPORTED;
  case EXT2_ET_SHORT_READ:
  case EXT2_ET_SHORT_WRITE:
    return OBD_E_IO;
  case EXT2_ET_INVALID_ARGUMENT:
  case EXT2_ET_EA_BAD_NAME_LEN:
  case EXT2_ET_EA_BAD_VALUE_SIZE:
  case EXT2_ET_NO_DIRECTORY:
  case EXT2_ET_SYMLINK_LOOP:
  case EINVAL:
    return OBD_E_INVAL;
  default:
    return OBD_E_CORRUPT;
  }
}

int ext4_fail(ext4_fs *fs, errcode_t e, const char *op, const char *path) {
  if (fs->target.err) {
    int code = fs->target.err;
    fs->target.err = 0;
    return obd_fail(code, "%s %s: %s", op, path, fs->target.detail);
  }
  pthread_once(&err_table_once, load_err_table);
  return obd_fail(code_of(e), "%s %s: %s", op, path, error_message(e));
}

static int open_channel(ext4_fs *fs, int (*fn)(ext4_fs *, const char *, void *),
                        void *ctx) {
  char name[EXT4_IO_NAME_MAX];
  OBD_TRY(ext4_io_register(&fs->target, name));
  int rc = fn(fs, name, ctx);
  ext4_io_unregister(name);
  return rc;
}

/* ctx: the int flags EXT2_FLAG_RW or 0. */
static int do_open(ext4_fs *fs, const char *name, void *ctx) {
  int rw = *(const int *)ctx;
  errcode_t e = ext2fs_open2(name, NULL, rw | EXT2_FLAG_64BITS, 0, 0,
                             ext4_io_manager(), &fs->fs);
  if (e) {
    fs->fs = NULL;
    return ext4_fail(fs, e, "open ext4 in", "image");
  }
  return 0;
}

/* Features whose metadata the entry operations do not maintain. */
static int check_features(ext4_fs *fs) {
  struct ext2_super_block *sb = fs->fs->super;
  const char *what = NULL;
  if (ext2fs_has_feature_journal_needs_recovery(sb)) what = "journal needs recovery";
  else if (ext2fs_has_feature_inline_data(sb)) what = "inline_data";
  else if (ext2fs_has_feature_bigalloc(sb)) what = "bigalloc";
  else if (ext2fs_has_feature_metadata_csum(sb)) what = "metadata_csum";
  else if (ext2fs_has_feature_encrypt(sb)) what = "encrypt";
  else if (ext2fs_has_feature_casefold(sb)) what = "casefold";
  else if (!ext2fs_has_feature_extents(sb)) what = "no extents";
  if (what)
    return obd_fail(OBD_E_UNSUPPORTED, "open ext4 in image: %s is not supported",
                    what);
  return 0;
}

void ext4_set_time(ext4_fs *fs, int64_t timestamp) {
  fs->fs->now = (time_t)timestamp;
}

int ext4_open(obd_image *img, ext4_fs **out) {
  return ext4_open_cache(img, EXT4_CACHE_BYTES, out);
}

/* Read-only opens skip the feature check (reading is safe whatever the
 * features) and the bitmaps (a lookup never needs them: on a 64 GiB image
 * they are megabytes that would be fetched for nothing). */
static int open_fs(obd_image *img, size_t cache_bytes, int rw, ext4_fs **out) {
  *out = NULL;
  ext4_fs *fs = obd_calloc(1, sizeof *fs);
  if (!fs) return obd_fail(OBD_E_NOMEM, "open ext4: state");
  fs->target.img = img;
  fs->target.cache_bytes = cache_bytes;
  int rc = open_channel(fs, do_open, &rw);
  if (rc == 0 && rw) rc = check_features(fs);
  if (rc == 0 && rw) {
    errcode_t e = ext2fs_read_bitmaps(fs->fs);
    if (e) rc = ext4_fail(fs, e, "read bitmaps of", "image");
  }
  if (rc == 0) {
    fs->inode_buf = obd_malloc(EXT2_INODE_SIZE(fs->fs->super));
    fs->block_buf = obd_malloc(fs->fs->blocksize);
    fs->chunk = obd_malloc(FILE_CHUNK_BYTES);
    fs->chunk_size = FILE_CHUNK_BYTES;
    if (!fs->inode_buf || !fs->block_buf || !fs->chunk)
      rc = obd_fail(OBD_E_NOMEM, "open ext4: buffers");
  }
  if (rc < 0) {
    if (fs->fs) ext2fs_free(fs->fs);
    obd_free(fs->inode_buf);
    obd_free(fs->block_buf);
    obd_free(fs->chunk);
    obd_free(fs);
    return rc;
  }
  *out = fs;
  return 0;
}

int ext4_open_cache(obd_image *img, size_t cache_bytes, ext4_fs **out) {
  return open_fs(img, cache_bytes, EXT2_FLAG_RW, out);
}

int ext4_open_readonly(obd_image *img, ext4_fs **out) {
  return open_fs(img, EXT4_READ_CACHE_BYTES, 0, out);
}

int ext4_close(ext4_fs *fs) {
  if (!fs) return 0;
  int rc = 0;
  if (fs->open_file) rc = ext4_file_end(fs->open_file);
  errcode_t e = ext2fs_close_free(&fs->fs);
  if (e) {
    int r = ext4_fail(fs, e, "close ext4 in", "image");
    if (rc == 0) rc = r;
  } else if (fs->target.err && rc == 0) {
    rc = ext4_fail(fs, 0, "close ext4 in", "image");
  }
  if (fs->fs) ext2fs_free(fs->fs);
  ext4_dcache_free(fs);
  obd_free(fs->inode_buf);
  obd_free(fs->block_buf);
  obd_free(fs->chunk);
  obd_free(fs);
  return rc;
}

/* ---- inode helpers ---- */

#define FITS(in, field)                                                        \
  (offsetof(struct ext2_inode_large, field) + sizeof((in)->field) <=           \
   EXT2_GOOD_OLD_INODE_SIZE + (size_t)(in)->i_extra_isize)

void ext4_set_owner(struct ext2_inode_large *in, uint32_t uid, uint32_t gid) {
  in->i_uid = (uint16_t)uid;
  in->osd2.linux2.l_i_uid_high = (uint16_t)(uid >> 16);
  in->i_gid = (uint16_t)gid;
  in->osd2.linux2.l_i_gid_high = (uint16_t)(gid >> 16);
}

/* The kernel's encoding: the low 32 bits signed in the base field, two
 * more epoch bits in the low bits of the *_extra field, nanoseconds 0. */
void ext4_set_times(struct ext2_inode_large *in, int64_t sec) {
  uint32_t lo = (uint32_t)sec;
  uint32_t epoch = (uint32_t)(((sec - (int64_t)(int32_t)lo) >> 32) & 3);
  in->i_atime = in->i_ctime = in->i_mtime = lo;
  if (FITS(in, i_ctime_extra)) in->i_ctime_extra = epoch;
  if (FITS(in, i_mtime_extra)) in->i_mtime_extra = epoch;
  if (FITS(in, i_atime_extra)) in->i_atime_extra = epoch;
  if (FITS(in, i_crtime)) in->i_crtime = lo;
  if (FITS(in, i_crtime_extra)) in->i_crtime_extra = epoch;
}

int64_t ext4_get_mtime(const struct ext2_inode_large *in) {
  int64_t sec = (int32_t)in->i_mtime;
  if (FITS(in, i_mtime_extra)) sec += (int64_t)(in->i_mtime_extra & 3) << 32;
  return sec;
}

int ext4_read_inode(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                    const char *path) {
  memset(in, 0, sizeof *in);
  errcode_t e = ext2fs_read_inode_full(fs->fs, ino, (struct ext2_inode *)in,
                                       sizeof *in);
  return e ? ext4_fail(fs, e, "read inode of", path) : 0;
}

int ext4_write_inode(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                     const char *path) {
  unsigned isz = EXT2_INODE_SIZE(fs->fs->super);
  errcode_t e = ext2fs_write_inode_full(fs->fs, ino, (struct ext2_inode *)in,
                                        isz < sizeof *in ? isz : sizeof *in);
  return e ? ext4_fail(fs, e, "write inode of", path) : 0;
}

int ext4_new_inode(ext4_fs *fs, ext2_ino_t dir, uint32_t mode, uint32_t uid,
                   uint32_t gid, int64_t mtime, ext2_ino_t *ino,
                   struct ext2_inode_large *in, const char *path) {
  errcode_t e = ext2fs_new_inode(fs->fs, dir, (int)mode, NULL, ino);
  if (e) return ext4_fail(fs, e, "allocate an inode for", path);
  ext2fs_inode_alloc_stats2(fs->fs, *ino, +1, LINUX_S_ISDIR(mode));
  memset(in, 0, sizeof *in);
  in->i_mode = (uint16_t)mode;
  in->i_links_count = 1;
  if (EXT2_INODE_SIZE(fs->fs->super) >= sizeof *in)
    in->i_extra_isize = sizeof *in - EXT2_GOOD_OLD_INODE_SIZE;
  ext4_set_owner(in, uid, gid);
  ext4_set_times(in, mtime);
  return 0;
}

/* The whole slot is written: a reused slot may still hold the in-inode
 * xattrs of the inode that had it before. */
int ext4_write_new_inode(ext4_fs *fs, ext2_ino_t ino,
                         struct ext2_inode_large *in, const char *path) {
  unsigned isz = EXT2_INODE_SIZE(fs->fs->super);
  memset(fs->inode_buf, 0, isz);
  memcpy(fs->inode_buf, in, isz < sizeof *in ? isz : sizeof *in);
  errcode_t e = ext2fs_write_inode_full(fs->fs, ino,
                                        (struct ext2_inode *)fs->inode_buf, isz);
  return e ? ext4_fail(fs, e, "write inode of", path) : 0;
}

static int free_block(ext2_filsys f, blk64_t *blocknr, e2_blkcnt_t blockcnt,
                      blk64_t ref_blk, int ref_offset, void *ctx) {
  (void)blockcnt;
  (void)ref_blk;
  (void)ref_offset;
  (void)ctx;
  ext2fs_block_alloc_stats2(f, *blocknr, -1);
  return 0;
}

/* Blocks are freed by walking the mapping (data, extent-tree and indirect
 * blocks alike) rather than with ext2fs_punch, which in libext2fs
 * 1.46.6-1.47.0 refuses an extent that ends at the last block of the
 * filesystem (an off-by-one fixed upstream later). */
void ext4_release_inode(ext4_fs *fs, ext2_ino_t ino) {
  ext4_dcache_drop(fs, ino);
  struct ext2_inode_large in;
  memset(&in, 0, sizeof in);
  if (ext2fs_read_inode_full(fs->fs, ino, (struct ext2_inode *)&in, sizeof in))
    return;
  if (ext2fs_file_acl_block(fs->fs, (struct ext2_inode *)&in))
    ext2fs_free_ext_attr(fs->fs, ino, &in);
  if (ext2fs_inode_has_valid_blocks2(fs->fs, (struct ext2_inode *)&in))
    ext2fs_block_iterate3(fs->fs, ino, BLOCK_FLAG_READ_ONLY, NULL, free_block,
                          NULL);
  in.i_links_count = 0;
  in.i_dtime = in.i_ctime ? in.i_ctime : 1;
  ext2fs_write_inode_full(fs->fs, ino, (struct ext2_inode *)&in, sizeof in);
  ext2fs_inode_alloc_stats2(fs->fs, ino, -1, LINUX_S_ISDIR(in.i_mode));
}

static int file_type(uint32_t mode) {
  switch (mode & LINUX_S_IFMT) {
  case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
  case LINUX_S_IFDIR: return EXT2_FT_DIR;
  case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
  case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
  case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
  case LINUX_S_IFIFO: return EXT2_FT_FIFO;
  case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
  default: return EXT2_FT_UNKNOWN;
  }
}

int ext4_link(ext4_fs *fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
              uint32_t mode, const char *path) {
  int ft = file_type(mode);
  errcode_t e = ext4_dir_append(fs, dir, name, ino, ft);
  if (e == EXT2_ET_DIR_NO_SPACE) {
    e = ext2fs_expand_dir(fs->fs, dir);
    if (!e) e = ext4_dir_append(fs, dir, name, ino, ft);
  }
  if (e == EXT2_ET_OP_NOT_SUPPORTED) { /* an htree directory: libext2fs */
    e = ext2fs_link(fs->fs, dir, name, ino, ft);
    if (e == EXT2_ET_DIR_NO_SPACE) {
      e = ext2fs_expand_dir(fs->fs, dir);
      if (!e) e = ext2fs_link(fs->fs, dir, name, ino, ft);
    }
  }
  if (e) return ext4_fail(fs, e, "link", path);
  ext4_dcache_update(fs, dir, name, ino);
  return 0;
}

void ext4_forget_memo(ext4_fs *fs) {
  fs->memo_len = 0;
  fs->memo_ino = 0;
}
