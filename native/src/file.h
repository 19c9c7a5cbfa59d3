/* The two I/O abstractions every format module is written against.
 *
 * obd_file: a random-access, read-only byte source of known size. Layers are
 * read through chains of them: a POSIX file, a window onto the payload of the
 * tar wrapper, a ZFile decoder, a cached remote blob (cache.h). pread has no shared
 * cursor, so every obd_file may be read from many threads at once.
 *
 * obd_sink: a sequential byte sink that may also rewrite bytes it already
 * wrote (the ZFile header and the tar headers are rewritten at the end). A
 * writer that wraps another sink translates rewrite offsets into its own. */
#ifndef OBD_FILE_H
#define OBD_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct obd_file obd_file;

typedef struct obd_file_ops {
  /* Reads up to n bytes at off into buf. Returns the number of bytes read,
   * which is less than n only when off + n passes the end of the file, or a
   * negative obd_err. Must be safe to call from many threads at once. */
  int64_t (*pread)(obd_file *f, void *buf, size_t n, uint64_t off);
  /* Releases the object and, when it owns one, the file it wraps. */
  void (*close)(obd_file *f);
  /* Optional; NULL for files that cache nothing. Forgets any cached copy of
   * the bytes [off, off + n) so that the next read gets them from the source
   * again: a decoder that finds damaged bytes (a ZFile block CRC) calls it
   * before re-reading, in case the damage is in a cache and not at the
   * source. A wrapper forwards it to the file it wraps. Returns 1 when a
   * cached copy may have been dropped, 0 when nothing caches those bytes, or
   * a negative obd_err. */
  int (*invalidate)(obd_file *f, uint64_t off, uint64_t n);
  /* Optional; NULL for files whose bytes are not in memory. Returns a
   * pointer to the n bytes at off, valid until the file is closed, or NULL
   * when the range is not all mapped. Lets a decoder read a local layer file
   * without copying it out of the page cache first. */
  const uint8_t *(*map)(obd_file *f, uint64_t off, size_t n);
} obd_file_ops;

struct obd_file {
  const obd_file_ops *ops;
  uint64_t size; /* logical size in bytes; fixed after open */
  char name[256]; /* what error messages call this file (path or description) */
};

/* Reads exactly n bytes at off. A short read is OBD_E_TRUNCATED naming the
 * file and offset. Returns 0 or a negative obd_err. */
int obd_file_read_exact(obd_file *f, void *buf, size_t n, uint64_t off);

/* pread through the vtable; same contract as obd_file_ops.pread. */
int64_t obd_file_pread(obd_file *f, void *buf, size_t n, uint64_t off);

/* obd_file_ops.invalidate, or 0 when f has none. */
int obd_file_invalidate(obd_file *f, uint64_t off, uint64_t n);

/* obd_file_ops.map, or NULL when f has none. */
const uint8_t *obd_file_map(obd_file *f, uint64_t off, size_t n);

/* f->size, for callers that cannot read struct fields (FFI). */
uint64_t obd_file_size(const obd_file *f);

/* Closes f (NULL is allowed). */
void obd_file_close(obd_file *f);

/* Opens a local file read-only. On success *out owns the descriptor. A
 * regular file is also mapped read-only, so that map() serves its bytes;
 * layer files must then not be truncated while open (their bytes would turn
 * into SIGBUS), which holds for the immutable committed layers this opens. */
int obd_file_open_path(const char *path, obd_file **out);

/* A window [off, off+size) of `base`, renamed `name` in messages. If `own`,
 * closing the window closes base. Fails with OBD_E_TRUNCATED if the window
 * passes the end of base. */
int obd_file_window(obd_file *base, int own, uint64_t off, uint64_t size,
                    obd_file **out);

/* Helper for implementations: fills in the common fields. */
void obd_file_init(obd_file *f, const obd_file_ops *ops, uint64_t size,
                   const char *name);

typedef struct obd_sink obd_sink;

typedef struct obd_sink_ops {
  /* Appends n bytes. Returns 0 or a negative obd_err. */
  int (*write)(obd_sink *s, const void *buf, size_t n);
  /* Overwrites n bytes at off, which must lie inside what was written.
   * NULL when the sink cannot seek (a stream); callers then skip rewrites. */
  int (*rewrite)(obd_sink *s, const void *buf, size_t n, uint64_t off);
  /* Flushes and releases; closes the wrapped sink when owned. Returns 0 or a
   * negative obd_err (a failed flush is reported here). */
  int (*close)(obd_sink *s);
} obd_sink_ops;

struct obd_sink {
  const obd_sink_ops *ops;
  uint64_t written; /* bytes appended so far; maintained by obd_sink_write */
  char name[256];
};

int obd_sink_write(obd_sink *s, const void *buf, size_t n);
int obd_sink_rewrite(obd_sink *s, const void *buf, size_t n, uint64_t off);
int obd_sink_close(obd_sink *s);
void obd_sink_init(obd_sink *s, const obd_sink_ops *ops, const char *name);

/* Creates (truncating) a local file for writing with the given mode. */
int obd_sink_open_path(const char *path, unsigned mode, obd_sink **out);

/* The same for a scratch file, moved or deleted soon: close does not fsync. */
int obd_sink_open_scratch(const char *path, unsigned mode, obd_sink **out);

/* Copies all of `in` to `out` in 1 MiB steps. Returns 0 or a negative obd_err. */
int obd_copy(obd_file *in, obd_sink *out);

#endif
