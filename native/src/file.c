#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

void obd_file_init(obd_file *f, const obd_file_ops *ops, uint64_t size,
                   const char *name) {
  f->ops = ops;
  f->size = size;
  snprintf(f->name, sizeof f->name, "%s", name);
}

int64_t obd_file_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  return f->ops->pread(f, buf, n, off);
}

int obd_file_read_exact(obd_file *f, void *buf, size_t n, uint64_t off) {
  int64_t got = f->ops->pread(f, buf, n, off);
  if (got < 0) return (int)got;
  if ((uint64_t)got != n)
    return obd_fail(OBD_E_TRUNCATED,
                    "%s: wanted %zu bytes at offset %llu, file ends after %lld",
                    f->name, n, (unsigned long long)off, (long long)got);
  return 0;
}

int obd_file_invalidate(obd_file *f, uint64_t off, uint64_t n) {
  return f->ops->invalidate ? f->ops->invalidate(f, off, n) : 0;
}

uint64_t obd_file_size(const obd_file *f) { return f->size; }

const uint8_t *obd_file_map(obd_file *f, uint64_t off, size_t n) {
  return f->ops->map ? f->ops->map(f, off, n) : NULL;
}

void obd_file_close(obd_file *f) {
  if (f) f->ops->close(f);
}

/* ---- local file ---- */

typedef struct posix_file {
  obd_file base;
  int fd;
  const uint8_t *mapped; /* the whole file, or NULL when mmap failed or size 0 */
} posix_file;

static int64_t posix_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  posix_file *p = (posix_file *)f;
  size_t done = 0;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  while (done < n) {
    ssize_t r = pread(p->fd, (char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return obd_fail(OBD_E_IO, "%s: read at offset %llu: %s", f->name,
                      (unsigned long long)(off + done), strerror(errno));
    }
    if (r == 0) break;
    done += (size_t)r;
  }
  return (int64_t)done;
}

static void posix_close(obd_file *f) {
  posix_file *p = (posix_file *)f;
  if (p->mapped) munmap((void *)p->mapped, (size_t)f->size);
  close(p->fd);
  obd_free(p);
}

static const uint8_t *posix_map(obd_file *f, uint64_t off, size_t n) {
  const posix_file *p = (const posix_file *)f;
  if (!p->mapped || off > f->size || n > f->size - off) return NULL;
  return p->mapped + off;
}

static const obd_file_ops posix_file_ops = {
    .pread = posix_pread,
    .close = posix_close,
    .map = posix_map,
};

int obd_file_open_path(const char *path, obd_file **out) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return obd_fail(errno == ENOENT ? OBD_E_NOTFOUND : OBD_E_IO, "%s: open: %s",
                    path, strerror(errno));
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return obd_fail(OBD_E_IO, "%s: stat: %s", path, strerror(e));
  }
  posix_file *p = obd_malloc(sizeof *p);
  if (!p) {
    close(fd);
    return obd_fail(OBD_E_NOMEM, "%s: open", path);
  }
  obd_file_init(&p->base, &posix_file_ops, (uint64_t)st.st_size, path);
  p->fd = fd;
  p->mapped = NULL;
  if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
    /* A failed map only costs the zero-copy path: reads fall back to pread. */
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) p->mapped = m;
  }
  *out = &p->base;
  return 0;
}

/* ---- window ---- */

typedef struct window_file {
  obd_file base;
  obd_file *inner;
  uint64_t off;
  int own;
} window_file;

static int64_t window_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  window_file *w = (window_file *)f;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  return w->inner->ops->pread(w->inner, buf, n, w->off + off);
}

static void window_close(obd_file *f) {
  window_file *w = (window_file *)f;
  if (w->own) obd_file_close(w->inner);
  obd_free(w);
}

static int window_invalidate(obd_file *f, uint64_t off, uint64_t n) {
  window_file *w = (window_file *)f;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = f->size - off;
  return obd_file_invalidate(w->inner, w->off + off, n);
}

static const uint8_t *window_map(obd_file *f, uint64_t off, size_t n) {
  window_file *w = (window_file *)f;
  if (off > f->size || n > f->size - off) return NULL;
  return obd_file_map(w->inner, w->off + off, n);
}

static const obd_file_ops window_file_ops = {
    .pread = window_pread,
    .close = window_close,
    .invalidate = window_invalidate,
    .map = window_map,
};

int obd_file_window(obd_file *base, int own, uint64_t off, uint64_t size,
                    obd_file **out) {
  if (off > base->size || size > base->size - off)
    return obd_fail(OBD_E_TRUNCATED,
                    "%s: payload [%llu, +%llu) passes the end of the file (%llu bytes)",
                    base->name, (unsigned long long)off,
                    (unsigned long long)size, (unsigned long long)base->size);
  window_file *w = obd_malloc(sizeof *w);
  if (!w) return obd_fail(OBD_E_NOMEM, "%s: window", base->name);
  obd_file_init(&w->base, &window_file_ops, size, base->name);
  w->inner = base;
  w->off = off;
  w->own = own;
  *out = &w->base;
  return 0;
}

/* ---- sinks ---- */

void obd_sink_init(obd_sink *s, const obd_sink_ops *ops, const char *name) {
  s->ops = ops;
  s->written = 0;
  snprintf(s->name, sizeof s->name, "%s", name);
}

int obd_sink_write(obd_sink *s, const void *buf, size_t n) {
  int rc = s->ops->write(s, buf, n);
  if (rc == 0) s->written += n;
  return rc;
}

int obd_sink_rewrite(obd_sink *s, const void *buf, size_t n, uint64_t off) {
  if (!s->ops->rewrite)
    return obd_fail(OBD_E_UNSUPPORTED, "%s: cannot rewrite a stream", s->name);
  if (off > s->written || n > s->written - off)
    return obd_fail(OBD_E_INVAL, "%s: rewrite [%llu, +%zu) beyond %llu written bytes",
                    s->name, (unsigned long long)off, n,
                    (unsigned long long)s->written);
  return s->ops->rewrite(s, buf, n, off);
}

int obd_sink_close(obd_sink *s) { return s ? s->ops->close(s) : 0; }

typedef struct posix_sink {
  obd_sink base;
  int fd;
  int sync; /* fsync at close */
} posix_sink;

static int write_all(int fd, const void *buf, size_t n, int64_t at,
                     const char *name) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = at < 0 ? write(fd, (const char *)buf + done, n - done)
                       : pwrite(fd, (const char *)buf + done, n - done,
                                (off_t)at + (off_t)done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return obd_fail(OBD_E_IO, "%s: write: %s", name, strerror(errno));
    }
    done += (size_t)r;
  }
  return 0;
}

static int posix_sink_write(obd_sink *s, const void *buf, size_t n) {
  return write_all(((posix_sink *)s)->fd, buf, n, -1, s->name);
}

static int posix_sink_rewrite(obd_sink *s, const void *buf, size_t n,
                              uint64_t off) {
  return write_all(((posix_sink *)s)->fd, buf, n, (int64_t)off, s->name);
}

static int posix_sink_close(obd_sink *s) {
  posix_sink *p = (posix_sink *)s;
  int rc = 0;
  if (p->sync && fsync(p->fd) != 0 && errno != EINVAL && errno != EROFS)
    rc = obd_fail(OBD_E_IO, "%s: fsync: %s", s->name, strerror(errno));
  if (close(p->fd) != 0 && rc == 0)
    rc = obd_fail(OBD_E_IO, "%s: close: %s", s->name, strerror(errno));
  obd_free(p);
  return rc;
}

static const obd_sink_ops posix_sink_ops = {
    .write = posix_sink_write,
    .rewrite = posix_sink_rewrite,
    .close = posix_sink_close,
};

static int open_sink(const char *path, unsigned mode, int sync, obd_sink **out) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return obd_fail(OBD_E_IO, "%s: create: %s", path, strerror(errno));
  posix_sink *p = obd_malloc(sizeof *p);
  if (!p) {
    close(fd);
    return obd_fail(OBD_E_NOMEM, "%s: create", path);
  }
  obd_sink_init(&p->base, &posix_sink_ops, path);
  p->fd = fd;
  p->sync = sync;
  *out = &p->base;
  return 0;
}

int obd_sink_open_path(const char *path, unsigned mode, obd_sink **out) {
  return open_sink(path, mode, 1, out);
}

int obd_sink_open_scratch(const char *path, unsigned mode, obd_sink **out) {
  return open_sink(path, mode, 0, out);
}

int obd_copy(obd_file *in, obd_sink *out) {
  enum { STEP = 1 << 20 };
  uint8_t *buf = obd_malloc(STEP);
  if (!buf) return obd_fail(OBD_E_NOMEM, "copy %s", in->name);
  int rc = 0;
  for (uint64_t off = 0; off < in->size && rc == 0; off += STEP) {
    size_t n = in->size - off < STEP ? (size_t)(in->size - off) : STEP;
    rc = obd_file_read_exact(in, buf, n, off);
    if (rc == 0) rc = obd_sink_write(out, buf, n);
  }
  obd_free(buf);
  return rc;
}
