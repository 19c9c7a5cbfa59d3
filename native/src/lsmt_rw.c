/* Writable LSMT layers: append mode (data file + index log, §2.6) and
 * sparse mode (one sparse data file, §2.7). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"
#include "lsmt_segset.h"

#define HEADER_SECTORS (LSMT_HEADER_SIZE / LSMT_SECTOR)
#define REPLAY_STEP 4096u /* index records decoded per read while replaying */
#define READ_BATCH 32u    /* segments looked up per step of a read */

struct lsmt_rw {
  obd_file data;  /* first member: the ops cast obd_file* back to lsmt_rw* */
  int data_fd;
  int index_fd;   /* -1 for sparse layers */
  int sparse;
  int read_only;  /* opened where we may not write: writes fail */
  int no_sync;    /* scratch layer: close skips the fsync */
  uint64_t data_end;  /* append mode: byte offset of the next data piece */
  uint64_t index_end; /* append mode: byte offset of the next log record */
  lsmt_header header;       /* data file header as on disk */
  lsmt_header index_header; /* index file header as on disk (append mode) */
  lsmt_segset *map;
  char index_name[256];
};

/* ---- the data file as an obd_file ---- */

/* Reads up to n bytes at off, stopping early only at end of file. */
static int64_t pread_fd(int fd, void *buf, size_t n, uint64_t off, const char *name) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return obd_fail(OBD_E_IO, "%s: read at offset %llu: %s", name,
                      (unsigned long long)(off + done), strerror(errno));
    if (r == 0) break;
    done += (size_t)r;
  }
  return (int64_t)done;
}

/* Unlike a plain file, the data file grows while it is read, so reads go to
 * the descriptor's current end rather than a size fixed at open. */
static int64_t data_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  return pread_fd(((lsmt_rw *)f)->data_fd, buf, n, off, f->name);
}

static void data_close(obd_file *f) { (void)f; /* owned by the layer */ }

static const obd_file_ops data_file_ops = {.pread = data_pread, .close = data_close};

/* ---- small I/O helpers ---- */

static int pwrite_all(int fd, const void *buf, size_t n, uint64_t off,
                      const char *name) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return obd_fail(OBD_E_IO, "%s: write at offset %llu: %s", name,
                      (unsigned long long)(off + done), strerror(errno));
    done += (size_t)r;
  }
  return 0;
}

static int write_header(int fd, const lsmt_header *h, const char *name) {
  uint8_t buf[LSMT_HEADER_SIZE];
  OBD_TRY(lsmt_header_encode(h, buf, sizeof buf));
  return pwrite_all(fd, buf, sizeof buf, 0, name);
}

static int file_size(int fd, const char *name, uint64_t *out) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return obd_fail(OBD_E_IO, "%s: stat: %s", name, strerror(errno));
  *out = (uint64_t)st.st_size;
  return 0;
}

static int grow_to(int fd, uint64_t size, const char *name) {
  uint64_t cur = 0;
  OBD_TRY(file_size(fd, name, &cur));
  if (cur >= size) return 0;
  if (ftruncate(fd, (off_t)size) != 0)
    return obd_fail(OBD_E_IO, "%s: truncate to %llu: %s", name,
                    (unsigned long long)size, strerror(errno));
  return 0;
}

/* Opens an existing file for update, falling back to read-only where we may
 * not write (the layer can then still be read and committed). */
static int open_existing(const char *path, int *fd, int *read_only) {
  *fd = open(path, O_RDWR | O_CLOEXEC);
  if (*fd < 0 && (errno == EACCES || errno == EROFS)) {
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    *read_only = 1;
  }
  if (*fd < 0)
    return obd_fail(errno == ENOENT ? OBD_E_NOTFOUND : OBD_E_IO, "%s: open: %s",
                    path, strerror(errno));
  return 0;
}

static int create_excl(const char *path, int *fd) {
  *fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (*fd < 0)
    return obd_fail(errno == EEXIST ? OBD_E_EXISTS : OBD_E_IO, "%s: create: %s",
                    path, strerror(errno));
  return 0;
}

static int read_header_at0(int fd, const char *name, lsmt_header *out) {
  uint8_t buf[LSMT_HEADER_SIZE];
  int64_t r = pread_fd(fd, buf, sizeof buf, 0, name);
  if (r < 0) return (int)r;
  if ((size_t)r < sizeof buf)
    return obd_fail(OBD_E_TRUNCATED, "%s: %lld bytes, too short for an LSMT header",
                    name, (long long)r);
  int rc = lsmt_header_decode(buf, sizeof buf, out);
  if (rc < 0) return obd_fail(rc, "%s: no LSMT header at offset 0 (bad magic)", name);
  return 0;
}

/* ---- lifetime ---- */

static int rw_alloc(const char *data_path, const char *index_path, lsmt_rw **out) {
  lsmt_rw *l = obd_calloc(1, sizeof *l);
  if (!l) return obd_fail(OBD_E_NOMEM, "%s: open writable layer", data_path);
  l->data_fd = l->index_fd = -1;
  obd_file_init(&l->data, &data_file_ops, 0, data_path);
  snprintf(l->index_name, sizeof l->index_name, "%s", index_path ? index_path : "");
  int rc = lsmt_segset_create(&l->map);
  if (rc < 0) {
    obd_free(l);
    return obd_fail_wrap(rc, "%s", data_path);
  }
  *out = l;
  return 0;
}

static void rw_free(lsmt_rw *l) {
  if (l->data_fd >= 0) close(l->data_fd);
  if (l->index_fd >= 0) close(l->index_fd);
  lsmt_segset_destroy(l->map);
  obd_free(l);
}

static int sync_close(int fd, int sync, const char *name) {
  int rc = 0;
  if (fd < 0) return 0;
  if (sync && fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
    rc = obd_fail(OBD_E_IO, "%s: fsync: %s", name, strerror(errno));
  if (close(fd) != 0 && rc == 0)
    rc = obd_fail(OBD_E_IO, "%s: close: %s", name, strerror(errno));
  return rc;
}

void lsmt_rw_set_sync(lsmt_rw *l, int sync) { l->no_sync = !sync; }

int lsmt_rw_close(lsmt_rw *l) {
  if (!l) return 0;
  int sync = !l->read_only && !l->no_sync;
  int rc = sync_close(l->data_fd, sync, l->data.name);
  int rc2 = sync_close(l->index_fd, sync, l->index_name);
  l->data_fd = l->index_fd = -1;
  rw_free(l);
  return rc < 0 ? rc : rc2;
}

/* ---- create ---- */

static int fill_uuid(const char *in, int random_if_null, char out[OBD_UUID_STR_SIZE]) {
  uint8_t b[16] = {0};
  if (in) return obd_uuid_normalise(in, out);
  if (random_if_null) OBD_TRY(obd_uuid_random(b));
  obd_uuid_format(b, out);
  return 0;
}

/* §2.2: data header 0x03 (0x13 sparse), index header 0x01 with
 * index_offset 4096; both carry the same sizes and UUIDs, version 1.1. */
static int make_headers(lsmt_rw *l, const lsmt_rw_options *opt) {
  lsmt_header *h = &l->header;
  h->flags = LSMT_FLAG_HEADER | LSMT_FLAG_DATA | (opt->sparse ? LSMT_FLAG_SPARSE : 0);
  h->virtual_size = opt->virtual_size;
  h->version = 1;
  h->sub_version = 1;
  OBD_TRY(fill_uuid(opt->uuid, 1, h->uuid));
  OBD_TRY(fill_uuid(opt->parent_uuid, 0, h->parent_uuid));
  l->index_header = *h;
  l->index_header.flags = LSMT_FLAG_HEADER;
  l->index_header.index_offset = LSMT_HEADER_SIZE;
  return 0;
}

/* Paths are passed on because names in messages may be truncated. */
static int create_files(lsmt_rw *l, const char *data_path, const char *index_path) {
  OBD_TRY(create_excl(data_path, &l->data_fd));
  if (index_path) OBD_TRY(create_excl(index_path, &l->index_fd));
  OBD_TRY(write_header(l->data_fd, &l->header, l->data.name));
  l->data_end = l->data.size = LSMT_HEADER_SIZE;
  if (l->sparse) {
    uint64_t vsize = l->header.virtual_size;
    if (vsize > (uint64_t)INT64_MAX - LSMT_HEADER_SIZE)
      return obd_fail(OBD_E_RANGE, "%s: virtual size %llu", l->data.name,
                      (unsigned long long)vsize);
    l->data.size = vsize + LSMT_HEADER_SIZE;
    return grow_to(l->data_fd, l->data.size, l->data.name);
  }
  l->index_end = LSMT_HEADER_SIZE;
  return write_header(l->index_fd, &l->index_header, l->index_name);
}

int lsmt_rw_create(const char *data_path, const char *index_path,
                   const lsmt_rw_options *opt, lsmt_rw **out) {
  static const lsmt_rw_options defaults = {0};
  lsmt_rw *l;
  if (!opt) opt = &defaults;
  if (!index_path && !opt->sparse)
    return obd_fail(OBD_E_INVAL, "%s: an append layer needs an index file", data_path);
  OBD_TRY(rw_alloc(data_path, index_path, &l));
  l->sparse = opt->sparse;
  int rc = make_headers(l, opt);
  if (rc < 0) {
    rw_free(l);
    return obd_fail_wrap(rc, "%s", data_path);
  }
  rc = create_files(l, data_path, index_path);
  if (rc < 0) {
    /* Whatever we created is half-made: remove it so a retry can create. */
    if (l->data_fd >= 0) unlink(data_path);
    if (l->index_fd >= 0) unlink(index_path);
    rw_free(l);
    return rc;
  }
  *out = l;
  return 0;
}

/* ---- open: replay the log (§2.6) or scan the sparse file (§2.7) ---- */

/* §2.3 moffset ranges against the data file, which ends at sector data_end. */
static int check_logged(const lsmt_rw *l, lsmt_seg s, uint64_t rec, uint64_t data_end) {
  uint64_t m = lsmt_seg_moffset(s);
  if (m >= HEADER_SECTORS && m <= data_end &&
      (lsmt_seg_zeroed(s) || lsmt_seg_length(s) <= data_end - m))
    return 0;
  return obd_fail(OBD_E_CORRUPT,
                  "%s: log record %llu at offset %llu {offset %llu, length %u, "
                  "moffset %llu, zeroed %d}: moffset outside the data file (%llu sectors)",
                  l->index_name, (unsigned long long)rec,
                  (unsigned long long)(LSMT_HEADER_SIZE + rec * LSMT_SEG_SIZE),
                  (unsigned long long)lsmt_seg_offset(s), lsmt_seg_length(s),
                  (unsigned long long)m, lsmt_seg_zeroed(s),
                  (unsigned long long)data_end);
}

static int replay_records(lsmt_rw *l, const uint8_t *buf, size_t n, uint64_t first) {
  uint64_t data_end = l->data.size / LSMT_SECTOR;
  for (size_t i = 0; i < n; i++) {
    lsmt_seg s;
    OBD_TRY(lsmt_seg_decode(buf + i * LSMT_SEG_SIZE, LSMT_SEG_SIZE, &s));
    if (!lsmt_seg_valid(s) || lsmt_seg_length(s) == 0) continue;
    OBD_TRY(check_logged(l, s, first + i, data_end));
    /* §2.6: tags in a log are the stack position at write time; on load
     * they mean nothing. */
    s = lsmt_seg_make(lsmt_seg_offset(s), lsmt_seg_length(s),
                      lsmt_seg_moffset(s), lsmt_seg_zeroed(s), 0);
    OBD_TRY(lsmt_segset_insert(l->map, s));
  }
  return 0;
}

static int replay_log(lsmt_rw *l, uint64_t index_file_size) {
  /* A torn trailing record (crash mid-append) is ignored. */
  uint64_t total = (index_file_size - LSMT_HEADER_SIZE) / LSMT_SEG_SIZE;
  if (total > LSMT_MAX_RW_INDEX)
    return obd_fail(OBD_E_CORRUPT, "%s: %llu log records exceed %llu", l->index_name,
                    (unsigned long long)total, LSMT_MAX_RW_INDEX);
  uint8_t *buf = obd_malloc(REPLAY_STEP * LSMT_SEG_SIZE);
  if (!buf) return obd_fail(OBD_E_NOMEM, "%s: replay", l->index_name);
  int rc = 0;
  for (uint64_t done = 0; rc == 0 && done < total; done += REPLAY_STEP) {
    size_t n = (size_t)(total - done < REPLAY_STEP ? total - done : REPLAY_STEP);
    uint64_t at = LSMT_HEADER_SIZE + done * LSMT_SEG_SIZE;
    int64_t r = pread_fd(l->index_fd, buf, n * LSMT_SEG_SIZE, at, l->index_name);
    if (r >= 0 && (size_t)r != n * LSMT_SEG_SIZE)
      r = obd_fail(OBD_E_TRUNCATED, "%s: log ends early at offset %llu",
                   l->index_name, (unsigned long long)(at + (uint64_t)r));
    rc = r < 0 ? (int)r : replay_records(l, buf, n, done);
  }
  obd_free(buf);
  return rc;
}

static int open_index(lsmt_rw *l, const char *index_path) {
  uint64_t size = 0;
  if (!index_path)
    return obd_fail(OBD_E_INVAL, "%s: an append layer needs an index file", l->data.name);
  OBD_TRY(open_existing(index_path, &l->index_fd, &l->read_only));
  OBD_TRY(read_header_at0(l->index_fd, l->index_name, &l->index_header));
  uint32_t f = l->index_header.flags;
  if (!(f & LSMT_FLAG_HEADER) || (f & (LSMT_FLAG_DATA | LSMT_FLAG_SEALED)) ||
      l->index_header.index_offset != LSMT_HEADER_SIZE)
    return obd_fail(OBD_E_FORMAT,
                    "%s: not a writable index (flags 0x%x, index_offset %llu)",
                    l->index_name, f,
                    (unsigned long long)l->index_header.index_offset);
  OBD_TRY(file_size(l->index_fd, l->index_name, &size));
  l->index_end = size - (size - LSMT_HEADER_SIZE) % LSMT_SEG_SIZE;
  return replay_log(l, size);
}

/* Inserts data mappings for the bytes [b, e) of a sparse data file, at most
 * LSMT_MAX_SEG_LENGTH sectors each. */
static int map_extent(lsmt_rw *l, uint64_t b, uint64_t e) {
  uint64_t s = b / LSMT_SECTOR, end = (e + LSMT_SECTOR - 1) / LSMT_SECTOR;
  if (s < HEADER_SECTORS) s = HEADER_SECTORS;
  while (s < end) {
    uint32_t n = end - s < LSMT_MAX_SEG_LENGTH ? (uint32_t)(end - s) : LSMT_MAX_SEG_LENGTH;
    OBD_TRY(lsmt_segset_insert(l->map, lsmt_seg_make(s - HEADER_SECTORS, n, s, 0, 0)));
    s += n;
  }
  return 0;
}

/* §2.7: the data extents of the file are the mappings. */
static int scan_sparse(lsmt_rw *l) {
  uint64_t size = l->data.size;
  off_t pos = LSMT_HEADER_SIZE;
  while ((uint64_t)pos < size) {
    off_t b = lseek(l->data_fd, pos, SEEK_DATA);
    if (b < 0 && errno == ENXIO) break; /* only a hole remains */
    off_t e = b < 0 ? -1 : lseek(l->data_fd, b, SEEK_HOLE);
    if (e < 0)
      return obd_fail(OBD_E_IO, "%s: seek data/hole from %lld: %s", l->data.name,
                      (long long)pos, strerror(errno));
    OBD_TRY(map_extent(l, (uint64_t)b, (uint64_t)e));
    pos = e;
  }
  return 0;
}

static int open_files(lsmt_rw *l, const char *data_path, const char *index_path) {
  OBD_TRY(open_existing(data_path, &l->data_fd, &l->read_only));
  OBD_TRY(read_header_at0(l->data_fd, l->data.name, &l->header));
  if (!(l->header.flags & LSMT_FLAG_HEADER))
    return obd_fail(OBD_E_FORMAT, "%s: flags 0x%x at offset 0: not a header",
                    l->data.name, l->header.flags);
  OBD_TRY(file_size(l->data_fd, l->data.name, &l->data.size));
  /* Appends stay sector-aligned even after a torn data write. */
  l->data_end = (l->data.size + LSMT_SECTOR - 1) / LSMT_SECTOR * LSMT_SECTOR;
  l->sparse = (l->header.flags & LSMT_FLAG_SPARSE) != 0;
  return l->sparse ? scan_sparse(l) : open_index(l, index_path);
}

int lsmt_rw_open(const char *data_path, const char *index_path, lsmt_rw **out) {
  lsmt_rw *l;
  OBD_TRY(rw_alloc(data_path, index_path, &l));
  int rc = open_files(l, data_path, index_path);
  if (rc < 0) {
    rw_free(l);
    return rc;
  }
  *out = l;
  return 0;
}

/* ---- writes ---- */

static int check_io(const lsmt_rw *l, uint64_t n, uint64_t off, int write) {
  if (off % LSMT_SECTOR || n % LSMT_SECTOR)
    return obd_fail(OBD_E_INVAL, "%s: i/o of %llu bytes at %llu is not 512-aligned",
                    l->data.name, (unsigned long long)n, (unsigned long long)off);
  if (off / LSMT_SECTOR > LSMT_INVALID_OFFSET ||
      n / LSMT_SECTOR > LSMT_INVALID_OFFSET - off / LSMT_SECTOR)
    return obd_fail(OBD_E_RANGE, "%s: i/o of %llu bytes at %llu passes 2^50 sectors",
                    l->data.name, (unsigned long long)n, (unsigned long long)off);
  if (write && l->read_only)
    return obd_fail(OBD_E_READONLY, "%s: opened read-only", l->data.name);
  return 0;
}

static int log_record(lsmt_rw *l, lsmt_seg s) {
  uint8_t rec[LSMT_SEG_SIZE];
  OBD_TRY(lsmt_seg_encode(s, rec, sizeof rec));
  OBD_TRY(pwrite_all(l->index_fd, rec, sizeof rec, l->index_end, l->index_name));
  l->index_end += sizeof rec;
  return 0;
}

/* One piece of at most LSMT_MAX_IO bytes. The data goes down before its log
 * record so a logged mapping never points at bytes that were not written. */
static int write_piece(lsmt_rw *l, const uint8_t *buf, uint32_t n, uint64_t off,
                       uint8_t tag) {
  uint64_t at = l->sparse ? LSMT_HEADER_SIZE + off : l->data_end;
  lsmt_seg s = lsmt_seg_make(off / LSMT_SECTOR, n / LSMT_SECTOR, at / LSMT_SECTOR, 0, tag);
  OBD_TRY(pwrite_all(l->data_fd, buf, n, at, l->data.name));
  if (at + n > l->data.size) l->data.size = at + n;
  if (!l->sparse) {
    OBD_TRY(log_record(l, s));
    l->data_end = at + n;
  }
  return lsmt_segset_insert(l->map, s);
}

int64_t lsmt_rw_pwrite(lsmt_rw *l, const void *buf, size_t n, uint64_t off,
                       uint8_t tag) {
  OBD_TRY(check_io(l, n, off, 1));
  for (size_t done = 0; done < n;) {
    uint32_t piece = n - done < LSMT_MAX_IO ? (uint32_t)(n - done) : LSMT_MAX_IO;
    OBD_TRY(write_piece(l, (const uint8_t *)buf + done, piece, off + done, tag));
    done += piece;
  }
  return (int64_t)n;
}

static int punch_hole(lsmt_rw *l, uint64_t off, uint64_t n) {
  if (fallocate(l->data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                (off_t)(LSMT_HEADER_SIZE + off), (off_t)n) == 0)
    return 0;
  return obd_fail(errno == EOPNOTSUPP ? OBD_E_UNSUPPORTED : OBD_E_IO,
                  "%s: punch hole of %llu bytes at %llu: %s", l->data.name,
                  (unsigned long long)n, (unsigned long long)(LSMT_HEADER_SIZE + off),
                  strerror(errno));
}

/* Append mode logs zeroed mappings whose moffset is the data end (§2.6).
 * Sparse mode punches a hole; in memory the range is zeroed too, so that,
 * until the layer is reopened and the hole is found by the scan, a discard
 * also hides lower layers as it does in append mode. */
int lsmt_rw_discard(lsmt_rw *l, uint64_t off, uint64_t n, uint8_t tag) {
  OBD_TRY(check_io(l, n, off, 1));
  if (l->sparse && n) OBD_TRY(punch_hole(l, off, n));
  uint64_t s = off / LSMT_SECTOR, end = s + n / LSMT_SECTOR;
  while (s < end) {
    uint32_t len = end - s < LSMT_MAX_SEG_LENGTH ? (uint32_t)(end - s) : LSMT_MAX_SEG_LENGTH;
    uint64_t m = l->sparse ? s + HEADER_SECTORS : l->data_end / LSMT_SECTOR;
    lsmt_seg seg = lsmt_seg_make(s, len, m, 1, tag);
    if (!l->sparse) OBD_TRY(log_record(l, seg));
    OBD_TRY(lsmt_segset_insert(l->map, seg));
    s += len;
  }
  return 0;
}

/* ---- reads ---- */

static int read_seg(lsmt_rw *l, uint8_t *dst, lsmt_seg s) {
  size_t n = (size_t)lsmt_seg_length(s) * LSMT_SECTOR;
  if (lsmt_seg_zeroed(s)) {
    memset(dst, 0, n);
    return 0;
  }
  int64_t got = pread_fd(l->data_fd, dst, n, lsmt_seg_moffset(s) * LSMT_SECTOR,
                         l->data.name);
  if (got < 0) return (int)got;
  memset(dst + got, 0, n - (size_t)got); /* §2.11: short read zero-filled */
  return 0;
}

int64_t lsmt_rw_pread(lsmt_rw *l, void *buf, size_t n, uint64_t off) {
  OBD_TRY(check_io(l, n, off, 0));
  uint8_t *base = buf;
  uint64_t first = off / LSMT_SECTOR, s = first, end = first + n / LSMT_SECTOR;
  while (s < end) {
    lsmt_seg segs[READ_BATCH];
    size_t got = lsmt_segset_lookup(l->map, s, end - s, segs, READ_BATCH);
    for (size_t i = 0; i < got; i++) {
      uint64_t so = lsmt_seg_offset(segs[i]);
      memset(base + (s - first) * LSMT_SECTOR, 0, (so - s) * LSMT_SECTOR);
      OBD_TRY(read_seg(l, base + (so - first) * LSMT_SECTOR, segs[i]));
      s = lsmt_seg_end(segs[i]);
    }
    if (got < READ_BATCH) {
      memset(base + (s - first) * LSMT_SECTOR, 0, (end - s) * LSMT_SECTOR);
      s = end;
    }
  }
  return (int64_t)n;
}

size_t lsmt_rw_lookup(lsmt_rw *l, uint64_t offset, uint64_t length,
                      lsmt_seg *out, size_t cap) {
  return lsmt_segset_lookup(l->map, offset, length, out, cap);
}

int lsmt_rw_index(lsmt_rw *l, uint8_t tag, lsmt_seg **out, size_t *count) {
  OBD_TRY(lsmt_segset_export(l->map, out, count));
  for (size_t i = 0; i < *count; i++) {
    lsmt_seg s = (*out)[i];
    (*out)[i] = lsmt_seg_make(lsmt_seg_offset(s), lsmt_seg_length(s),
                              lsmt_seg_moffset(s), lsmt_seg_zeroed(s), tag);
  }
  return 0;
}

obd_file *lsmt_rw_data_file(lsmt_rw *l) { return &l->data; }

const lsmt_header *lsmt_rw_header(const lsmt_rw *l) { return &l->header; }

int lsmt_rw_set_virtual_size(lsmt_rw *l, uint64_t vsize) {
  if (l->read_only)
    return obd_fail(OBD_E_READONLY, "%s: opened read-only", l->data.name);
  l->header.virtual_size = vsize;
  OBD_TRY(write_header(l->data_fd, &l->header, l->data.name));
  if (l->sparse) {
    if (vsize > (uint64_t)INT64_MAX - LSMT_HEADER_SIZE)
      return obd_fail(OBD_E_RANGE, "%s: virtual size %llu", l->data.name,
                      (unsigned long long)vsize);
    OBD_TRY(grow_to(l->data_fd, vsize + LSMT_HEADER_SIZE, l->data.name));
    if (vsize + LSMT_HEADER_SIZE > l->data.size) l->data.size = vsize + LSMT_HEADER_SIZE;
    return 0;
  }
  l->index_header.virtual_size = vsize;
  return write_header(l->index_fd, &l->index_header, l->index_name);
}
