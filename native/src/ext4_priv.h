/* Internals shared by the ext4_*.c files (not part of the library API).
 *
 * ext4_io.c   the libext2fs io_manager over an obd_image, with a block cache
 * ext4_mkfs.c formatting (§7.3)
 * ext4_fs.c   open/close, error mapping, path resolution, inode helpers
 * ext4_entry.c directories, links, special files, xattrs, removal, lookup
 * ext4_dir.c   name caches of recently used directories, appending entries
 * ext4_file.c streaming regular files */
#ifndef OBD_EXT4_PRIV_H
#define OBD_EXT4_PRIV_H

#include <ext2fs/ext2fs.h>

#include "error.h"
#include "ext4_apply.h"
#include "image.h"

#define EXT4_NAME_MAX 255u
#define EXT4_PATH_MAX 4096u
#define EXT4_SYMLINK_MAX 4095u
#define EXT4_FAST_SYMLINK_MAX 59u /* i_block is 60 bytes; keep a NUL */
#define EXT4_LOOP_MAX 40u         /* symlinks followed per lookup, as Linux */
#define EXT4_CACHE_BYTES (32u << 20)
#define EXT4_IO_NAME_MAX 32u
#define EXT4_DCACHE_COUNT 8u

/* What the io_manager writes to: the image plus the first obd error it
 * met, kept here because libext2fs only passes its own error codes up (and
 * closes the channel when an open fails). */
typedef struct ext4_io_target {
  obd_image *img;
  size_t cache_bytes;         /* block cache budget; 0 = EXT4_CACHE_BYTES */
  int err;                    /* first obd_err since the last take, or 0 */
  char detail[OBD_DETAIL_MAX];
} ext4_io_target;

/* The io_manager. Its open() takes a name from ext4_io_register. */
io_manager ext4_io_manager(void);

/* Publishes t under a fresh name ("obd:<n>") for one ext2fs_open2 or
 * ext2fs_initialize call; unregister right after it. Locked: any thread. */
int ext4_io_register(ext4_io_target *t, char name[EXT4_IO_NAME_MAX]);
void ext4_io_unregister(const char *name);

/* Writes count whole blocks straight to the image, bypassing (and
 * refreshing) the cache: for file data, which is written once and never
 * read back. Returns an errcode_t like the channel's own calls. */
errcode_t ext4_io_write_through(io_channel ch, blk64_t blk, size_t count,
                                const void *buf);

/* ---- ext4_fs.c ---- */

struct ext4_dcache;

struct ext4_fs {
  ext2_filsys fs;
  ext4_io_target target;
  uint8_t *inode_buf; /* s_inode_size bytes: a new inode is written whole */
  uint8_t *block_buf; /* one filesystem block */
  uint8_t *chunk;     /* staging for file data, chunk_size bytes */
  size_t chunk_size;
  ext4_file *open_file;
  /* The parent directory last resolved (tar entries come grouped by
   * directory); dropped whenever anything is removed. */
  char memo_path[EXT4_PATH_MAX];
  size_t memo_len;
  ext2_ino_t memo_ino;
  /* Name caches of the directories used last (ext4_dir.c). */
  struct ext4_dcache *dcache[EXT4_DCACHE_COUNT];
  uint64_t dcache_tick;
};

/* Turns a libext2fs error into an obd_err with "op path: message"; an error
 * the io_manager recorded wins, with its own code and detail. */
int ext4_fail(ext4_fs *fs, errcode_t e, const char *op, const char *path);

/* The directory that holds path's final component, and that component.
 * Follows symlinks in the directories on the way (EXT4_LOOP_MAX), creates
 * missing ones if flags has EXT4_PARENTS (0755, root, mtime). name must
 * have EXT4_NAME_MAX + 1 bytes. OBD_E_INVAL for the root itself, ".", ".."
 * or an over-long name as the final component. */
int ext4_resolve_parent(ext4_fs *fs, const char *path, unsigned flags,
                        int64_t mtime, ext2_ino_t *dir, char *name);

/* Looks name up in dir: 0 and *ino, or OBD_E_NOTFOUND (no detail). */
int ext4_lookup_in(ext4_fs *fs, ext2_ino_t dir, const char *name,
                   ext2_ino_t *ino, const char *path);

/* Resolves path without following its final component (the root for "/"). */
int ext4_resolve(ext4_fs *fs, const char *path, ext2_ino_t *ino);

int ext4_read_inode(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                    const char *path);
int ext4_write_inode(ext4_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in,
                     const char *path);

/* Allocates an inode near dir and fills *in with mode (type included),
 * owner, times, one link; the caller sets the rest and writes it with
 * ext4_write_new_inode, which clears the whole on-disk slot first. */
int ext4_new_inode(ext4_fs *fs, ext2_ino_t dir, uint32_t mode, uint32_t uid,
                   uint32_t gid, int64_t mtime, ext2_ino_t *ino,
                   struct ext2_inode_large *in, const char *path);
int ext4_write_new_inode(ext4_fs *fs, ext2_ino_t ino,
                         struct ext2_inode_large *in, const char *path);

/* Gives an allocated but unlinked inode back (blocks, xattr block, bitmap). */
void ext4_release_inode(ext4_fs *fs, ext2_ino_t ino);

void ext4_set_owner(struct ext2_inode_large *in, uint32_t uid, uint32_t gid);
void ext4_set_times(struct ext2_inode_large *in, int64_t sec);
int64_t ext4_get_mtime(const struct ext2_inode_large *in);

/* Adds the entry, growing the directory when it is full. */
int ext4_link(ext4_fs *fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
              uint32_t mode, const char *path);

/* Makes room for a new entry called name in dir: nothing there → 0 with
 * *existing = 0; a directory there and want_dir → 0 with *existing set;
 * anything else there is removed first. */
int ext4_clear_slot(ext4_fs *fs, ext2_ino_t dir, const char *name,
                    int want_dir, ext2_ino_t *existing, const char *path);

/* Creates directory name in dir (with one block), linked and counted. */
int ext4_make_dir(ext4_fs *fs, ext2_ino_t dir, const char *name, uint32_t mode,
                  uint32_t uid, uint32_t gid, int64_t mtime, ext2_ino_t *ino,
                  const char *path);

void ext4_forget_memo(ext4_fs *fs);

/* ---- ext4_dir.c ---- */

/* Looks name up in dir's cache, building it on first use: 0 and *ino,
 * OBD_E_NOTFOUND, or 1 when no cache could be had (ask libext2fs). */
int ext4_dcache_lookup(ext4_fs *fs, ext2_ino_t dir, const char *name,
                       ext2_ino_t *ino);
/* Tells a cached dir that name now maps to ino (0: removed). */
void ext4_dcache_update(ext4_fs *fs, ext2_ino_t dir, const char *name,
                        ext2_ino_t ino);
/* Forgets dir (removed, or its inode released). */
void ext4_dcache_drop(ext4_fs *fs, ext2_ino_t dir);
void ext4_dcache_free(ext4_fs *fs);
/* Adds the entry to dir's last block; EXT2_ET_DIR_NO_SPACE when full,
 * EXT2_ET_OP_NOT_SUPPORTED for an indexed or inline directory. */
errcode_t ext4_dir_append(ext4_fs *fs, ext2_ino_t dir, const char *name,
                          ext2_ino_t ino, int file_type);

/* ext4_open with a block cache of cache_bytes (at least 16 blocks are
 * kept); tests use a tiny one to exercise eviction. */
int ext4_open_cache(obd_image *img, size_t cache_bytes, ext4_fs **out);

#endif
