/* Path resolution inside the filesystem, as an extracting tar sees paths:
 * directories on the way may be symlinks (merged-/usr images have
 * /lib -> usr/lib in a lower layer and entries under lib/ above it), which
 * are followed but never out of the root. */
#include <string.h>

#include "alloc.h"
#include "ext4_priv.h"

#define STACK_MAX (EXT4_PATH_MAX / 2 + 2)

typedef struct walk {
  ext4_fs *fs;
  const char *path; /* the caller's path, for messages */
  unsigned flags;
  int64_t mtime;
  unsigned links;
  size_t depth;
  ext2_ino_t stack[STACK_MAX]; /* stack[0] is the root */
} walk;

int ext4_lookup_in(ext4_fs *fs, ext2_ino_t dir, const char *name,
                   ext2_ino_t *ino, const char *path) {
  int rc = ext4_dcache_lookup(fs, dir, name, ino);
  if (rc <= 0) return rc;
  errcode_t e = ext2fs_lookup(fs->fs, dir, name, (int)strlen(name),
                              (char *)fs->block_buf, ino);
  if (e == EXT2_ET_FILE_NOT_FOUND) return OBD_E_NOTFOUND;
  return e ? ext4_fail(fs, e, "look up", path) : 0;
}

/* Copies the target of symlink ino into buf (EXT4_SYMLINK_MAX + 1 bytes). */
static int read_symlink(ext4_fs *fs, ext2_ino_t ino,
                        struct ext2_inode_large *in, char *buf, size_t *len,
                        const char *path) {
  uint64_t size = EXT2_I_SIZE(in);
  if (size == 0 || size > EXT4_SYMLINK_MAX)
    return obd_fail(OBD_E_CORRUPT, "%s: symlink inode %u has size %llu", path,
                    ino, (unsigned long long)size);
  if (in->i_flags & EXT4_INLINE_DATA_FL)
    return obd_fail(OBD_E_UNSUPPORTED, "%s: inline-data symlink inode %u", path,
                    ino);
  if (ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
    memcpy(buf, in->i_block, size);
  } else {
    blk64_t pblk = 0;
    errcode_t e = ext2fs_bmap2(fs->fs, ino, (struct ext2_inode *)in, NULL, 0, 0,
                               NULL, &pblk);
    if (!e && pblk == 0) e = EXT2_ET_BAD_BLOCK_NUM;
    if (!e) e = io_channel_read_blk64(fs->fs->io, pblk, 1, fs->block_buf);
    if (e) return ext4_fail(fs, e, "read symlink in", path);
    if (size > fs->fs->blocksize) size = fs->fs->blocksize;
    memcpy(buf, fs->block_buf, size);
  }
  buf[size] = '\0';
  *len = size;
  return 0;
}

/* Resolves the n bytes at p, each component a directory, from the top of
 * the stack. */
static int walk_dirs(walk *w, const char *p, size_t n) {
  ext4_fs *fs = w->fs;
  char name[EXT4_NAME_MAX + 1];
  size_t i = 0;
  while (i < n) {
    while (i < n && p[i] == '/') i++;
    size_t s = i;
    while (i < n && p[i] != '/') i++;
    size_t len = i - s;
    if (len == 0) break;
    if (len == 1 && p[s] == '.') continue;
    if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
      if (w->depth > 1) w->depth--;
      continue;
    }
    if (len > EXT4_NAME_MAX)
      return obd_fail(OBD_E_INVAL, "%s: a name is longer than %u bytes",
                      w->path, EXT4_NAME_MAX);
    memcpy(name, p + s, len);
    name[len] = '\0';
    ext2_ino_t cur = w->stack[w->depth - 1], ino = 0;
    int rc = ext4_lookup_in(fs, cur, name, &ino, w->path);
    if (rc == OBD_E_NOTFOUND) {
      if (!(w->flags & EXT4_PARENTS))
        return obd_fail(OBD_E_NOTFOUND, "%s: directory %s does not exist",
                        w->path, name);
      OBD_TRY(ext4_make_dir(fs, cur, name, 0755, 0, 0, w->mtime, &ino, w->path));
    } else if (rc < 0) {
      return rc;
    } else {
      struct ext2_inode_large in;
      OBD_TRY(ext4_read_inode(fs, ino, &in, w->path));
      if (LINUX_S_ISLNK(in.i_mode)) {
        if (++w->links > EXT4_LOOP_MAX)
          return obd_fail(OBD_E_INVAL, "%s: too many levels of symbolic links",
                          w->path);
        char *target = obd_malloc(EXT4_SYMLINK_MAX + 1);
        if (!target) return obd_fail(OBD_E_NOMEM, "%s: symlink buffer", w->path);
        size_t tlen = 0;
        rc = read_symlink(fs, ino, &in, target, &tlen, w->path);
        if (rc == 0) {
          if (target[0] == '/') w->depth = 1;
          rc = walk_dirs(w, target, tlen);
        }
        obd_free(target);
        if (rc < 0) return rc;
        continue;
      }
      if (!LINUX_S_ISDIR(in.i_mode))
        return obd_fail(OBD_E_INVAL, "%s: %s is not a directory", w->path, name);
    }
    if (w->depth >= STACK_MAX)
      return obd_fail(OBD_E_INVAL, "%s: path too deep", w->path);
    w->stack[w->depth++] = ino;
  }
  return 0;
}

/* Splits path into its directory part [0, *dir_len) and final name
 * [*name_off, *name_off + *name_len), ignoring trailing slashes. */
static void split(const char *path, size_t *dir_len, size_t *name_off,
                  size_t *name_len) {
  size_t n = strlen(path);
  while (n > 0 && path[n - 1] == '/') n--;
  size_t s = n;
  while (s > 0 && path[s - 1] != '/') s--;
  *dir_len = s;
  *name_off = s;
  *name_len = n - s;
}

static int is_root(const char *path) {
  for (const char *p = path; *p; p++)
    if (*p != '/' && !(*p == '.' && (p[1] == '/' || p[1] == '\0'))) return 0;
  return 1;
}

int ext4_resolve_parent(ext4_fs *fs, const char *path, unsigned flags,
                        int64_t mtime, ext2_ino_t *dir, char *name) {
  size_t plen = strlen(path);
  if (plen >= EXT4_PATH_MAX)
    return obd_fail(OBD_E_INVAL, "%.64s...: path longer than %u bytes", path,
                    EXT4_PATH_MAX - 1);
  size_t dlen, noff, nlen;
  split(path, &dlen, &noff, &nlen);
  if (nlen == 0 || (nlen == 1 && path[noff] == '.') ||
      (nlen == 2 && path[noff] == '.' && path[noff + 1] == '.'))
    return obd_fail(OBD_E_INVAL, "%s: not a name of an entry", path);
  if (nlen > EXT4_NAME_MAX)
    return obd_fail(OBD_E_INVAL, "%s: name longer than %u bytes", path,
                    EXT4_NAME_MAX);
  memcpy(name, path + noff, nlen);
  name[nlen] = '\0';
  if (fs->memo_ino && fs->memo_len == dlen &&
      memcmp(fs->memo_path, path, dlen) == 0) {
    *dir = fs->memo_ino;
    return 0;
  }
  walk *w = obd_malloc(sizeof *w);
  if (!w) return obd_fail(OBD_E_NOMEM, "%s: path walk", path);
  w->fs = fs;
  w->path = path;
  w->flags = flags;
  w->mtime = mtime;
  w->links = 0;
  w->depth = 1;
  w->stack[0] = EXT2_ROOT_INO;
  int rc = walk_dirs(w, path, dlen);
  if (rc == 0) {
    *dir = w->stack[w->depth - 1];
    memcpy(fs->memo_path, path, dlen);
    fs->memo_len = dlen;
    fs->memo_ino = *dir;
  }
  obd_free(w);
  return rc;
}

int ext4_resolve(ext4_fs *fs, const char *path, ext2_ino_t *ino) {
  if (is_root(path)) {
    *ino = EXT2_ROOT_INO;
    return 0;
  }
  ext2_ino_t dir;
  char name[EXT4_NAME_MAX + 1];
  OBD_TRY(ext4_resolve_parent(fs, path, 0, 0, &dir, name));
  int rc = ext4_lookup_in(fs, dir, name, ino, path);
  if (rc == OBD_E_NOTFOUND)
    return obd_fail(OBD_E_NOTFOUND, "%s: no such file or directory", path);
  return rc;
}
