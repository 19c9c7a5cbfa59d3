/* Seal (§2.8): turns a writable layer's data file into a read-only layer in
 * place: its index and a trailer are appended, its data stays where it is. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"

/* Records encoded per write. */
#define SEAL_BATCH 256u

static int write_all(int fd, const void *buf, size_t n, uint64_t off, const char *name) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return obd_fail(OBD_E_IO, "seal %s: write at offset %llu: %s", name,
                      (unsigned long long)(off + done), strerror(errno));
    done += (size_t)r;
  }
  return 0;
}

static int read_record(int fd, uint64_t off, const char *name, lsmt_header *out) {
  uint8_t buf[LSMT_HEADER_SIZE];
  size_t done = 0;
  while (done < sizeof buf) {
    ssize_t r = pread(fd, buf + done, sizeof buf - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return obd_fail(OBD_E_IO, "seal %s: read at offset %llu: %s", name,
                      (unsigned long long)(off + done), strerror(errno));
    if (r == 0)
      return obd_fail(OBD_E_TRUNCATED, "seal %s: ends before offset %llu", name,
                      (unsigned long long)(off + sizeof buf));
    done += (size_t)r;
  }
  return lsmt_header_decode(buf, sizeof buf, out);
}

/* Whether the file ends in the trailer a seal of this very layer wrote: a
 * data|sealed trailer carrying the header's UUID (random per layer, so data
 * the layer holds cannot pass for it) whose index lies inside the file. */
static int sealed_already(int fd, uint64_t size, const lsmt_header *h, const char *name) {
  lsmt_header t;
  if (size < 2 * LSMT_HEADER_SIZE) return 0;
  if (read_record(fd, size - LSMT_HEADER_SIZE, name, &t) < 0) {
    obd_clear_error();
    return 0;
  }
  uint64_t trailer_off = size - LSMT_HEADER_SIZE;
  return t.flags == (LSMT_FLAG_DATA | LSMT_FLAG_SEALED) && strcmp(t.uuid, h->uuid) == 0 &&
         t.index_offset >= LSMT_HEADER_SIZE && t.index_offset <= trailer_off &&
         t.index_size <= (trailer_off - t.index_offset) / LSMT_SEG_SIZE;
}

/* Writes idx at off (index_offset), zero padding up to the next 512-byte
 * boundary, and returns where the trailer goes in *trailer_off. */
static int write_index(int fd, const lsmt_seg *idx, size_t n, uint64_t off, const char *name,
                       uint64_t *trailer_off) {
  uint8_t buf[SEAL_BATCH * LSMT_SEG_SIZE];
  size_t i = 0;
  while (i < n) {
    size_t k = n - i < SEAL_BATCH ? n - i : SEAL_BATCH;
    for (size_t j = 0; j < k; j++)
      OBD_TRY(lsmt_seg_encode(idx[i + j], buf + j * LSMT_SEG_SIZE, LSMT_SEG_SIZE));
    OBD_TRY(write_all(fd, buf, k * LSMT_SEG_SIZE, off + i * LSMT_SEG_SIZE, name));
    i += k;
  }
  uint64_t end = off + (uint64_t)n * LSMT_SEG_SIZE;
  uint64_t aligned = (end + LSMT_SECTOR - 1) / LSMT_SECTOR * LSMT_SECTOR;
  memset(buf, 0, LSMT_SECTOR);
  OBD_TRY(write_all(fd, buf, (size_t)(aligned - end), end, name));
  *trailer_off = aligned;
  return 0;
}

/* Appends index + trailer to the data file open as fd, of `size` bytes. */
static int append_seal(int fd, uint64_t size, const lsmt_header *h, const lsmt_seg *idx,
                       size_t n, const char *name) {
  /* The index starts on a sector boundary (§2.8): zero-fill a torn tail. */
  uint64_t index_off = (size + LSMT_SECTOR - 1) / LSMT_SECTOR * LSMT_SECTOR;
  uint8_t zeros[LSMT_SECTOR] = {0};
  OBD_TRY(write_all(fd, zeros, (size_t)(index_off - size), size, name));
  uint64_t trailer_off = 0;
  OBD_TRY(write_index(fd, idx, n, index_off, name, &trailer_off));
  lsmt_header t = *h;
  t.flags = LSMT_FLAG_DATA | LSMT_FLAG_SEALED;
  t.index_offset = index_off;
  t.index_size = n;
  t.version = 1;
  t.sub_version = 1;
  memset(t.user_tag, 0, sizeof t.user_tag);
  uint8_t buf[LSMT_HEADER_SIZE];
  OBD_TRY(lsmt_header_encode(&t, buf, sizeof buf));
  OBD_TRY(write_all(fd, buf, sizeof buf, trailer_off, name));
  if (fsync(fd) != 0)
    return obd_fail(OBD_E_IO, "seal %s: fsync: %s", name, strerror(errno));
  return 0;
}

/* The current index of the layer, sorted, tags 0, and its data header. */
static int load_index(const char *data_path, const char *index_path, lsmt_seg **idx,
                      size_t *n, lsmt_header *h) {
  lsmt_rw *l = NULL;
  OBD_TRY(lsmt_rw_open(data_path, index_path, &l));
  int rc = lsmt_rw_index(l, 0, idx, n);
  *h = *lsmt_rw_header(l);
  int rc2 = lsmt_rw_close(l);
  if (rc >= 0 && rc2 < 0) {
    obd_free(*idx);
    *idx = NULL;
    rc = rc2;
  }
  return rc;
}

int64_t lsmt_seal(const char *data_path, const char *index_path) {
  int fd = open(data_path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return obd_fail(errno == ENOENT ? OBD_E_NOTFOUND : OBD_E_IO, "seal %s: open: %s",
                    data_path, strerror(errno));
  lsmt_header h;
  struct stat st;
  int64_t rc = fstat(fd, &st) == 0
                   ? 0
                   : obd_fail(OBD_E_IO, "seal %s: stat: %s", data_path, strerror(errno));
  if (rc == 0) {
    rc = read_record(fd, 0, data_path, &h);
    if (rc < 0) rc = obd_fail_wrap((int)rc, "seal %s: no LSMT header", data_path);
  }
  if (rc == 0 && (h.flags & (LSMT_FLAG_HEADER | LSMT_FLAG_DATA | LSMT_FLAG_SEALED)) !=
                     (LSMT_FLAG_HEADER | LSMT_FLAG_DATA))
    rc = obd_fail(OBD_E_FORMAT, "seal %s: header flags 0x%x: not a writable data file",
                  data_path, h.flags);
  if (rc == 0 && sealed_already(fd, (uint64_t)st.st_size, &h, data_path)) {
    lsmt_header t;
    rc = read_record(fd, (uint64_t)st.st_size - LSMT_HEADER_SIZE, data_path, &t);
    close(fd);
    return rc < 0 ? rc : (int64_t)t.index_size;
  }
  lsmt_seg *idx = NULL;
  size_t n = 0;
  if (rc == 0) rc = load_index(data_path, index_path, &idx, &n, &h);
  if (rc == 0 && n > LSMT_MAX_RO_INDEX)
    rc = obd_fail(OBD_E_RANGE, "seal %s: %zu index records, a sealed layer holds at most %llu",
                  data_path, n, (unsigned long long)LSMT_MAX_RO_INDEX);
  /* Sized again: the file as the layer left it, which is where the index goes. */
  if (rc == 0 && fstat(fd, &st) != 0)
    rc = obd_fail(OBD_E_IO, "seal %s: stat: %s", data_path, strerror(errno));
  if (rc == 0) rc = append_seal(fd, (uint64_t)st.st_size, &h, idx, n, data_path);
  obd_free(idx);
  if (close(fd) != 0 && rc == 0)
    rc = obd_fail(OBD_E_IO, "seal %s: close: %s", data_path, strerror(errno));
  return rc < 0 ? rc : (int64_t)n;
}
