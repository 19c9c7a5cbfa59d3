/* A userspace ext4 writer over an obd_image: formats the first layer and
 * applies OCI layer tars onto the stacked view (spec §7.3–§7.5), without a
 * kernel mount, through libext2fs and a private io_manager whose block I/O
 * goes to obd_image_pread/pwrite/discard.
 *
 * Vocabulary: the *image* is the merged view of the read-only lowers plus
 * the writable upper; the *filesystem* is the ext4 inside it. Every change
 * lands in the upper layer, so a path that a lower layer holds is replaced,
 * removed or hard-linked simply by editing the merged filesystem.
 *
 * Lifecycle: ext4_mkfs (first layer only) → ext4_open → entry operations →
 * ext4_close, which writes the bitmaps, group descriptors and superblock
 * and flushes the block cache to the image. Nothing is guaranteed to be in
 * the image before ext4_close returns 0; after a failed operation the
 * caller should close (or abandon) the filesystem and throw the writable
 * layer away — the filesystem stays consistent, but an entry may be
 * half-applied.
 *
 * Paths are absolute inside the filesystem ("/a/b"; a missing leading '/'
 * is accepted). Empty and "." components are skipped, ".." goes up and
 * stops at the root. Symbolic links met in a non-final component are
 * followed, scoped to the filesystem root (an absolute target restarts at
 * the root, ".." never leaves it, at most 40 links per lookup), as an
 * extracting tar would see them; the final component is never followed.
 * Names are at most 255 bytes, paths at most 4095.
 *
 * Entry semantics (tar, §7.5): an entry that replaces an existing path of
 * another kind removes it first (a directory recursively); a directory over
 * an existing directory keeps its contents and takes the new metadata.
 * Missing parent directories are an error (OBD_E_NOTFOUND) unless the call
 * passes EXT4_PARENTS, which creates them 0755 root:root with the entry's
 * mtime. Parent directory times are never touched, so the result does not
 * depend on when the conversion ran.
 *
 * Metadata: mode is the permission part (07777, type bits ignored except in
 * ext4_mknod); uid/gid are 32-bit; mtime is seconds since the epoch
 * (before 1970 and after 2038 are encoded with the extra epoch bits) and is
 * also used for atime, ctime and crtime.
 *
 * Errors: each call returns 0 (or a documented count) or a negative
 * obd_err whose detail names the path and libext2fs's error message:
 * OBD_E_NOTFOUND (missing path or parent), OBD_E_INVAL (bad path, name too long, a non-directory
 * used as a directory, symlink loop, bad device type), OBD_E_RANGE (no free
 * blocks or inodes, too many links), OBD_E_IO and others forwarded from the
 * image (read/write failure, with its detail), OBD_E_CORRUPT (libext2fs
 * found damaged metadata), OBD_E_UNSUPPORTED (a feature this writer does
 * not handle, e.g. inline data in a lower layer).
 *
 * Thread-safety: an ext4_fs and its open ext4_file handles must be used by
 * one thread at a time, and the image must not be written by anyone else
 * while the filesystem is open. Different filesystems on different images
 * may be used on different threads at once (libext2fs keeps no global
 * state the writer relies on; the io_manager's name registry is locked). */
#ifndef OBD_EXT4_APPLY_H
#define OBD_EXT4_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

typedef struct ext4_fs ext4_fs;
typedef struct ext4_file ext4_file;

/* §7.3 mkfs parameters. */
#define EXT4_BLOCK_SIZE 4096u
#define EXT4_INODE_RATIO 16384u
#define EXT4_INODE_SIZE 256u
#define EXT4_RESERVED_PERCENT 5u
#define EXT4_DESC_SIZE 64u
#define EXT4_FS_UUID "bdf7bb2e-c231-43ce-87c2-299792458ef5"

/* Smallest filesystem ext4_mkfs accepts (bytes). */
#define EXT4_MIN_SIZE (16ull << 20)

typedef struct ext4_mkfs_options {
  /* Filesystem size in bytes, rounded down to 4096; 0 = the image's
   * virtual size. Must not exceed it. */
  uint64_t size;
  /* Seconds since the epoch for the superblock and root/lost+found times;
   * 0 = now. A fixed value makes the metadata reproducible. */
  int64_t timestamp;
} ext4_mkfs_options;

/* Formats the image with the §7.3 parameters (no journal). An image that
 * holds any data is discarded first so that inode tables read as zeros.
 * opt NULL = defaults. OBD_E_RANGE when the size is below EXT4_MIN_SIZE or
 * above the virtual size. */
int ext4_mkfs(obd_image *img, const ext4_mkfs_options *opt);

/* Opens the filesystem in img for writing; the caller keeps ownership of
 * img, which must outlive the filesystem. OBD_E_FORMAT when img holds no
 * ext4, OBD_E_UNSUPPORTED for features this writer cannot keep consistent
 * (journal needing recovery, metadata_csum, inline data, bigalloc, no
 * extents). Keeps a write-back block cache of at most 32 MiB and name
 * caches of the 8 directories used last (about 6 + name length bytes per
 * entry), so filling a directory costs time linear in its size. */
int ext4_open(obd_image *img, ext4_fs **out);

/* Uses `timestamp` (seconds since the epoch; 0 = the clock) wherever the
 * filesystem itself records a time from now on — the superblock's write
 * time when fs closes — so that converting the same layer twice gives the
 * same bytes. Entry times come from the entries. */
void ext4_set_time(ext4_fs *fs, int64_t timestamp);

/* Writes back all metadata and the block cache, then frees fs (NULL is
 * allowed). Returns the first failure; fs is gone either way. */
int ext4_close(ext4_fs *fs);

/* Flag for the entry operations. */
#define EXT4_PARENTS 0x1u /* create missing parent directories */

int ext4_mkdir(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
               uint32_t gid, int64_t mtime, unsigned flags);

/* Streams a regular file of exactly `size` bytes: begin, then write the
 * content in order in pieces of any length, then end. All-zero 4096-byte
 * blocks (and an all-zero tail) become holes. At most one file may be open
 * per filesystem; no other operation may run on fs while it is open.
 * ext4_file_write fails with OBD_E_RANGE past `size`; ext4_file_end fails
 * with OBD_E_TRUNCATED when fewer bytes arrived (the file then keeps what
 * arrived). ext4_file_end frees the handle whatever it returns; after a
 * failed write it must still be called. */
int ext4_file_begin(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                    uint32_t gid, int64_t mtime, uint64_t size, unsigned flags,
                    ext4_file **out);
int ext4_file_write(ext4_file *f, const void *buf, size_t len);
int ext4_file_end(ext4_file *f);

/* begin + one write + end. */
int ext4_write_file(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                    uint32_t gid, int64_t mtime, const void *data, size_t len,
                    unsigned flags);

/* target (1..4095 bytes, stored verbatim, never resolved); targets under 60
 * bytes are stored in the inode. Mode is 0777. */
int ext4_symlink(ext4_fs *fs, const char *path, const char *target,
                 uint32_t uid, uint32_t gid, int64_t mtime, unsigned flags);

/* Makes path another name of existing (which may come from a lower layer;
 * its final component is not followed, so a link to a symlink links the
 * symlink). existing must not be a directory (OBD_E_INVAL). A path that
 * already names the same inode is left alone. */
int ext4_hardlink(ext4_fs *fs, const char *path, const char *existing,
                  unsigned flags);

/* mode carries the type: S_IFCHR, S_IFBLK, S_IFIFO or S_IFSOCK (else
 * OBD_E_INVAL); major/minor are used for devices only (major < 4096,
 * minor < 2^20). */
int ext4_mknod(ext4_fs *fs, const char *path, uint32_t mode, uint32_t major,
               uint32_t minor, uint32_t uid, uint32_t gid, int64_t mtime,
               unsigned flags);

/* Sets one extended attribute by its full name ("user.x",
 * "security.capability", "trusted.overlay.opaque", "system.posix_acl_access"
 * in the Linux xattr format). len may be 0. Replaces an existing value. */
int ext4_set_xattr(ext4_fs *fs, const char *path, const char *name,
                   const void *value, size_t len);

/* Removes path (a directory with everything below it). OBD_E_NOTFOUND when
 * it does not exist; the root cannot be removed (OBD_E_INVAL). */
int ext4_remove(ext4_fs *fs, const char *path);

/* Updates mode (permission bits), owner and times of an existing entry. */
int ext4_set_attr(ext4_fs *fs, const char *path, uint32_t mode, uint32_t uid,
                  uint32_t gid, int64_t mtime);

/* What ext4_lookup reports. mode includes the S_IF* type bits. */
typedef struct ext4_stat {
  uint64_t ino;
  uint64_t size;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t nlink;
  int64_t mtime;
} ext4_stat;

/* Stats path without following its final component. */
int ext4_lookup(ext4_fs *fs, const char *path, ext4_stat *out);

/* Lists the names in directory path, except "." and "..", each followed by
 * a NUL, into buf (cap bytes). Returns the number of bytes the full list
 * needs; when that is more than cap, buf holds a prefix of whole names and
 * the caller retries with a larger buffer. OBD_E_INVAL if path is not a
 * directory. */
int64_t ext4_list_dir(ext4_fs *fs, const char *path, char *buf, size_t cap);

/* ---- reading only (list prefetch, spec §8.5) ---- */

/* Block cache of a read-only filesystem. */
#define EXT4_READ_CACHE_BYTES (4u << 20)

/* Opens the filesystem in img for ext4_lookup, ext4_list_dir and
 * ext4_file_extents only (never call the entry operations on it); img may
 * be read-only. Any feature set is accepted and the allocation
 * bitmaps are not read. ext4_close writes nothing. OBD_E_FORMAT when img
 * holds no ext4. */
int ext4_open_readonly(obd_image *img, ext4_fs **out);

/* Called for each run of a file's data: `length` bytes at byte `logical`
 * of the file are stored at byte `physical` of the image (both multiples
 * of the block size). A non-zero return stops the walk and is returned. */
typedef int (*ext4_extent_fn)(void *ctx, uint64_t logical, uint64_t physical,
                              uint64_t length);

/* Walks the data runs of the regular file at path (final component not
 * followed) in logical order, adjacent blocks merged: extent-mapped and
 * block-mapped files alike; unwritten extents and holes are skipped, an
 * inline-data file has none. At most max_runs runs are reported. Fills *st
 * (may be NULL). OBD_E_INVAL when path is not a regular file, OBD_E_CORRUPT
 * for a damaged extent tree. */
int ext4_file_extents(ext4_fs *fs, const char *path, size_t max_runs,
                      ext4_stat *st, ext4_extent_fn fn, void *ctx);

#endif
