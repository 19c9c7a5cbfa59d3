/* Entry operations: directories, symlinks, hard links, special files,
 * xattrs, removal, metadata, lookup and listing (spec §7.5). */
#include <string.h>

#include "alloc.h"
#include "ext4_priv.h"

/* ---- children of a directory ---- */

/* Packed (u32 inode, u8 length, name) records of a directory's entries. */
typedef struct child_list {
  uint8_t *buf;
  size_t len, cap;
  int failed;
} child_list;

static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
                   int offset, int blocksize, char *buf, void *ctx) {
  (void)dir;
  (void)entry;
  (void)offset;
  (void)blocksize;
  (void)buf;
  child_list *l = ctx;
  size_t n = (size_t)ext2fs_dirent_name_len(d);
  if (d->inode == 0 || (n == 1 && d->name[0] == '.') ||
      (n == 2 && d->name[0] == '.' && d->name[1] == '.'))
    return 0;
  if (l->cap - l->len < n + 5) {
    size_t cap = l->cap ? l->cap * 2 : 4096;
    uint8_t *p = obd_realloc(l->buf, cap);
    if (!p) {
      l->failed = 1;
      return DIRENT_ABORT;
    }
    l->buf = p;
    l->cap = cap;
  }
  memcpy(l->buf + l->len, &d->inode, 4);
  l->buf[l->len + 4] = (uint8_t)n;
  memcpy(l->buf + l->len + 5, d->name, n);
  l->len += n + 5;
  return 0;
}

static int list_children(ext4_fs *fs, ext2_ino_t dir, child_list *l,
                         const char *path) {
  memset(l, 0, sizeof *l);
  errcode_t e = ext2fs_dir_iterate2(fs->fs, dir, 0, NULL, collect, l);
  if (l->failed) {
    obd_free(l->buf);
    return obd_fail(OBD_E_NOMEM, "%s: directory listing", path);
  }
  if (e) {
    obd_free(l->buf);
    return ext4_fail(fs, e, "list", path);
  }
  return 0;
}

/* ---- removal ---- */

static void drop_dir_link(ext4_fs *fs, ext2_ino_t dir) {
  struct ext2_inode_large in;
  memset(&in, 0, sizeof in);
  if (ext2fs_read_inode_full(fs->fs, dir, (struct ext2_inode *)&in, sizeof in))
    return;
  /* 1 means "more than EXT2_LINK_MAX" under dir_nlink: unknown, kept. */
  if (in.i_links_count > 2) {
    in.i_links_count--;
    ext2fs_write_inode_full(fs->fs, dir, (struct ext2_inode *)&in, sizeof in);
  }
}

static int remove_entry(ext4_fs *fs, ext2_ino_t dir, const char *name,
                        ext2_ino_t ino, const char *path) {
  struct ext2_inode_large in;
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  int is_dir = LINUX_S_ISDIR(in.i_mode);
  if (is_dir) {
    child_list l;
    OBD_TRY(list_children(fs, ino, &l, path));
    int rc = 0;
    char child[EXT4_NAME_MAX + 1];
    for (size_t off = 0; off < l.len && rc == 0;) {
      uint32_t cino;
      memcpy(&cino, l.buf + off, 4);
      size_t n = l.buf[off + 4];
      memcpy(child, l.buf + off + 5, n);
      child[n] = '\0';
      rc = remove_entry(fs, ino, child, cino, path);
      off += n + 5;
    }
    obd_free(l.buf);
    if (rc < 0) return rc;
  }
  errcode_t e = ext2fs_unlink(fs->fs, dir, name, ino, 0);
  if (e) return ext4_fail(fs, e, "unlink", path);
  ext4_dcache_update(fs, dir, name, 0);
  ext4_forget_memo(fs);
  if (is_dir) {
    ext4_release_inode(fs, ino);
    drop_dir_link(fs, dir);
    return 0;
  }
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  if (in.i_links_count <= 1) {
    ext4_release_inode(fs, ino);
    return 0;
  }
  in.i_links_count--;
  return ext4_write_inode(fs, ino, &in, path);
}

int ext4_clear_slot(ext4_fs *fs, ext2_ino_t dir, const char *name,
                    int want_dir, ext2_ino_t *existing, const char *path) {
  ext2_ino_t ino = 0;
  *existing = 0;
  int rc = ext4_lookup_in(fs, dir, name, &ino, path);
  if (rc == OBD_E_NOTFOUND) return 0;
  if (rc < 0) return rc;
  if (want_dir) {
    struct ext2_inode_large in;
    OBD_TRY(ext4_read_inode(fs, ino, &in, path));
    if (LINUX_S_ISDIR(in.i_mode)) {
      *existing = ino;
      return 0;
    }
  }
  return remove_entry(fs, dir, name, ino, path);
}

int ext4_remove(ext4_fs *fs, const char *path) {
  ext2_ino_t dir, ino;
  char name[EXT4_NAME_MAX + 1];
  OBD_TRY(ext4_resolve_parent(fs, path, 0, 0, &dir, name));
  int rc = ext4_lookup_in(fs, dir, name, &ino, path);
  if (rc == OBD_E_NOTFOUND)
    return obd_fail(OBD_E_NOTFOUND, "remove %s: no such file or directory", path);
  if (rc < 0) return rc;
  return remove_entry(fs, dir, name, ino, path);
}

/* ---- creation ---- */

/* Maps logical block 0 of a new extent-mapped inode to blk. The handle
 * edits *in in place (it keeps the pointer) and writes it. */
static int map_first_block(ext4_fs *fs, ext2_ino_t ino,
                           struct ext2_inode_large *in, blk64_t blk,
                           const char *path) {
  ext2_extent_handle_t h;
  errcode_t e = ext2fs_extent_open2(fs->fs, ino, (struct ext2_inode *)in, &h);
  if (e) return ext4_fail(fs, e, "map a block of", path);
  e = ext2fs_extent_set_bmap(h, 0, blk, 0);
  ext2fs_extent_free(h);
  return e ? ext4_fail(fs, e, "map a block of", path) : 0;
}

static int alloc_block(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                       blk64_t *blk, const char *path) {
  blk64_t goal = ext2fs_find_inode_goal(fs->fs, ino, (struct ext2_inode *)in, 0);
  errcode_t e = ext2fs_new_block2(fs->fs, goal, NULL, blk);
  if (e) return ext4_fail(fs, e, "allocate a block for", path);
  ext2fs_block_alloc_stats2(fs->fs, *blk, +1);
  return 0;
}

int ext4_make_dir(ext4_fs *fs, ext2_ino_t dir, const char *name, uint32_t mode,
                  uint32_t uid, uint32_t gid, int64_t mtime, ext2_ino_t *out,
                  const char *path) {
  ext2_ino_t ino;
  struct ext2_inode_large in;
  blk64_t blk;
  char *block = NULL;
  OBD_TRY(ext4_new_inode(fs, dir, LINUX_S_IFDIR | (mode & 07777), uid, gid,
                         mtime, &ino, &in, path));
  int rc = alloc_block(fs, ino, &in, &blk, path);
  if (rc < 0) {
    ext2fs_inode_alloc_stats2(fs->fs, ino, -1, 1);
    return rc;
  }
  errcode_t e = ext2fs_new_dir_block(fs->fs, ino, dir, &block);
  if (!e) e = ext2fs_write_dir_block4(fs->fs, blk, block, 0, ino);
  ext2fs_free_mem(&block);
  in.i_links_count = 2;
  if (!e) e = ext2fs_inode_size_set(fs->fs, (struct ext2_inode *)&in,
                                    fs->fs->blocksize);
  if (!e) e = ext2fs_iblk_set(fs->fs, (struct ext2_inode *)&in, 1);
  rc = e ? ext4_fail(fs, e, "make directory", path) : 0;
  if (rc == 0) rc = map_first_block(fs, ino, &in, blk, path);
  if (rc == 0) rc = ext4_write_new_inode(fs, ino, &in, path);
  if (rc == 0) rc = ext4_link(fs, dir, name, ino, in.i_mode, path);
  if (rc < 0) {
    ext2fs_block_alloc_stats2(fs->fs, blk, -1);
    ext2fs_inode_alloc_stats2(fs->fs, ino, -1, 1);
    return rc;
  }
  struct ext2_inode_large parent;
  OBD_TRY(ext4_read_inode(fs, dir, &parent, path));
  if (parent.i_links_count > 1) {
    parent.i_links_count++;
    if (parent.i_links_count >= EXT2_LINK_MAX) parent.i_links_count = 1;
    OBD_TRY(ext4_write_inode(fs, dir, &parent, path));
  }
  *out = ino;
  return 0;
}

static int is_root_path(const char *path) {
  for (const char *p = path; *p; p++)
    if (*p != '/' && !(*p == '.' && (p[1] == '/' || p[1] == '\0'))) return 0;
  return 1;
}

static int update_attr(ext4_fs *fs, ext2_ino_t ino, uint32_t mode, uint32_t uid,
                       uint32_t gid, int64_t mtime, const char *path) {
  struct ext2_inode_large in;
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  in.i_mode = (uint16_t)((in.i_mode & LINUX_S_IFMT) | (mode & 07777));
  ext4_set_owner(&in, uid, gid);
  ext4_set_times(&in, mtime);
  return ext4_write_inode(fs, ino, &in, path);
}

int ext4_mkdir(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
               uint32_t gid, int64_t mtime, unsigned flags) {
  if (is_root_path(path))
    return update_attr(fs, EXT2_ROOT_INO, mode, uid, gid, mtime, path);
  ext2_ino_t dir, existing, ino;
  char name[EXT4_NAME_MAX + 1];
  OBD_TRY(ext4_resolve_parent(fs, path, flags, mtime, &dir, name));
  OBD_TRY(ext4_clear_slot(fs, dir, name, 1, &existing, path));
  if (existing) return update_attr(fs, existing, mode, uid, gid, mtime, path);
  return ext4_make_dir(fs, dir, name, mode, uid, gid, mtime, &ino, path);
}

int ext4_set_attr(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                  uint32_t gid, int64_t mtime) {
  ext2_ino_t ino;
  OBD_TRY(ext4_resolve(fs, path, &ino));
  return update_attr(fs, ino, mode, uid, gid, mtime, path);
}

/* Links a fully written new inode, or gives it back. */
static int finish_new(ext4_fs *fs, ext2_ino_t dir, const char *name,
                      ext2_ino_t ino, struct ext2_inode_large *in,
                      const char *path) {
  int rc = ext4_write_new_inode(fs, ino, in, path);
  if (rc == 0) rc = ext4_link(fs, dir, name, ino, in->i_mode, path);
  if (rc < 0) ext4_release_inode(fs, ino);
  return rc;
}

int ext4_symlink(ext4_fs *fs, const char *path, const char *target,
                 uint32_t uid, uint32_t gid, int64_t mtime, unsigned flags) {
  size_t len = strlen(target);
  if (len == 0 || len > EXT4_SYMLINK_MAX)
    return obd_fail(OBD_E_INVAL, "symlink %s: target of %zu bytes", path, len);
  ext2_ino_t dir, existing, ino;
  char name[EXT4_NAME_MAX + 1];
  struct ext2_inode_large in;
  OBD_TRY(ext4_resolve_parent(fs, path, flags, mtime, &dir, name));
  OBD_TRY(ext4_clear_slot(fs, dir, name, 0, &existing, path));
  OBD_TRY(ext4_new_inode(fs, dir, LINUX_S_IFLNK | 0777, uid, gid, mtime, &ino,
                         &in, path));
  in.i_size = (uint32_t)len;
  if (len <= EXT4_FAST_SYMLINK_MAX) {
    memcpy(in.i_block, target, len);
    return finish_new(fs, dir, name, ino, &in, path);
  }
  blk64_t blk;
  int rc = alloc_block(fs, ino, &in, &blk, path);
  if (rc < 0) {
    ext2fs_inode_alloc_stats2(fs->fs, ino, -1, 0);
    return rc;
  }
  memset(fs->block_buf, 0, fs->fs->blocksize);
  memcpy(fs->block_buf, target, len);
  errcode_t e = io_channel_write_blk64(fs->fs->io, blk, 1, fs->block_buf);
  if (!e) e = ext2fs_iblk_set(fs->fs, (struct ext2_inode *)&in, 1);
  rc = e ? ext4_fail(fs, e, "write symlink", path) : 0;
  if (rc == 0) rc = map_first_block(fs, ino, &in, blk, path);
  if (rc == 0) rc = ext4_write_new_inode(fs, ino, &in, path);
  if (rc < 0) {
    ext2fs_block_alloc_stats2(fs->fs, blk, -1);
    ext2fs_inode_alloc_stats2(fs->fs, ino, -1, 0);
    return rc;
  }
  rc = ext4_link(fs, dir, name, ino, in.i_mode, path);
  if (rc < 0) ext4_release_inode(fs, ino);
  return rc;
}

int ext4_mknod(ext4_fs *fs, const char *path, uint32_t mode, uint32_t major,
               uint32_t minor, uint32_t uid, uint32_t gid, int64_t mtime,
               unsigned flags) {
  uint32_t type = mode & LINUX_S_IFMT;
  int dev = type == LINUX_S_IFCHR || type == LINUX_S_IFBLK;
  if (!dev && type != LINUX_S_IFIFO && type != LINUX_S_IFSOCK)
    return obd_fail(OBD_E_INVAL, "mknod %s: mode 0%o is not a special file",
                    path, mode);
  if (dev && (major >= 4096 || minor >= (1u << 20)))
    return obd_fail(OBD_E_INVAL, "mknod %s: device %u:%u out of range", path,
                    major, minor);
  ext2_ino_t dir, existing, ino;
  char name[EXT4_NAME_MAX + 1];
  struct ext2_inode_large in;
  OBD_TRY(ext4_resolve_parent(fs, path, flags, mtime, &dir, name));
  OBD_TRY(ext4_clear_slot(fs, dir, name, 0, &existing, path));
  OBD_TRY(ext4_new_inode(fs, dir, type | (mode & 07777), uid, gid, mtime, &ino,
                         &in, path));
  /* The kernel's two device encodings: 8:8 bits in i_block[0] when both
   * fit, else the 12:20-bit "new" form in i_block[1]. */
  if (dev && major < 256 && minor < 256) {
    in.i_block[0] = major << 8 | minor;
  } else if (dev) {
    in.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
  }
  return finish_new(fs, dir, name, ino, &in, path);
}

int ext4_hardlink(ext4_fs *fs, const char *path, const char *existing,
                  unsigned flags) {
  ext2_ino_t target, dir, cur, gone;
  char name[EXT4_NAME_MAX + 1];
  struct ext2_inode_large in;
  int rc = ext4_resolve(fs, existing, &target);
  if (rc < 0) return obd_fail_wrap(rc, "hard link %s", path);
  OBD_TRY(ext4_read_inode(fs, target, &in, existing));
  if (LINUX_S_ISDIR(in.i_mode))
    return obd_fail(OBD_E_INVAL, "hard link %s: target %s is a directory", path,
                    existing);
  OBD_TRY(ext4_resolve_parent(fs, path, flags, ext4_get_mtime(&in), &dir, name));
  rc = ext4_lookup_in(fs, dir, name, &cur, path);
  if (rc == 0 && cur == target) return 0;
  if (rc < 0 && rc != OBD_E_NOTFOUND) return rc;
  OBD_TRY(ext4_clear_slot(fs, dir, name, 0, &gone, path));
  /* Removing what was at path may have removed the target with it. */
  if (!ext2fs_test_inode_bitmap2(fs->fs->inode_map, target))
    return obd_fail(OBD_E_NOTFOUND, "hard link %s: target %s was removed by it",
                    path, existing);
  OBD_TRY(ext4_read_inode(fs, target, &in, existing));
  if (in.i_links_count >= EXT2_LINK_MAX)
    return obd_fail(OBD_E_RANGE, "hard link %s: %s has too many links", path,
                    existing);
  OBD_TRY(ext4_link(fs, dir, name, target, in.i_mode, path));
  OBD_TRY(ext4_read_inode(fs, target, &in, existing));
  in.i_links_count++;
  return ext4_write_inode(fs, target, &in, existing);
}

int ext4_set_xattr(ext4_fs *fs, const char *path, const char *name,
                   const void *value, size_t len) {
  ext2_ino_t ino;
  struct ext2_xattr_handle *h = NULL;
  OBD_TRY(ext4_resolve(fs, path, &ino));
  errcode_t e = ext2fs_xattrs_open(fs->fs, ino, &h);
  if (!e) e = ext2fs_xattrs_read(h);
  if (!e) e = ext2fs_xattr_set(h, name, value, len);
  if (h) {
    errcode_t c = ext2fs_xattrs_close(&h);
    if (!e) e = c;
  }
  if (e) {
    int rc = ext4_fail(fs, e, "set xattr on", path);
    return obd_fail_wrap(rc, "xattr %s", name);
  }
  return 0;
}

int ext4_lookup(ext4_fs *fs, const char *path, ext4_stat *out) {
  ext2_ino_t ino;
  struct ext2_inode_large in;
  OBD_TRY(ext4_resolve(fs, path, &ino));
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  memset(out, 0, sizeof *out);
  out->ino = ino;
  out->size = EXT2_I_SIZE(&in);
  out->mode = in.i_mode;
  out->uid = inode_uid(in);
  out->gid = inode_gid(in);
  out->nlink = in.i_links_count;
  out->mtime = ext4_get_mtime(&in);
  return 0;
}

int64_t ext4_list_dir(ext4_fs *fs, const char *path, char *buf, size_t cap) {
  ext2_ino_t ino;
  struct ext2_inode_large in;
  child_list l;
  OBD_TRY(ext4_resolve(fs, path, &ino));
  OBD_TRY(ext4_read_inode(fs, ino, &in, path));
  if (!LINUX_S_ISDIR(in.i_mode))
    return obd_fail(OBD_E_INVAL, "list %s: not a directory", path);
  OBD_TRY(list_children(fs, ino, &l, path));
  size_t need = 0;
  for (size_t off = 0; off < l.len;) {
    size_t n = l.buf[off + 4];
    if (need + n + 1 <= cap) {
      memcpy(buf + need, l.buf + off + 5, n);
      buf[need + n] = '\0';
    } else {
      cap = need; /* whole names only */
    }
    need += n + 1;
    off += n + 5;
  }
  obd_free(l.buf);
  return (int64_t)need;
}
