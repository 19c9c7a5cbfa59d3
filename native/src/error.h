/* One error enum for the whole native core.
 *
 * Every function that can fail returns either a non-negative result or one of
 * these negative codes. Values are stable and never reused: ffi/errors.ts
 * mirrors them and a test walks every code through obd_strerror().
 *
 * Besides the code, the failing function records a one-line detail (which
 * file, which offset, what was expected) in a thread-local buffer with
 * obd_fail(); callers that add context use obd_fail_wrap(). The detail of the
 * last failure on the calling thread is read with obd_last_error(). */
#ifndef OBD_ERROR_H
#define OBD_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum obd_err {
  OBD_OK = 0,
  OBD_E_NOMEM = -1,       /* an allocation failed */
  OBD_E_IO = -2,          /* a read/write/open syscall failed (errno in detail) */
  OBD_E_INVAL = -3,       /* a caller passed a bad argument (alignment, size) */
  OBD_E_FORMAT = -4,      /* not the expected format (magic, version, flags) */
  OBD_E_CORRUPT = -5,     /* the format is right but the content is damaged */
  OBD_E_UNSUPPORTED = -6, /* valid, but a feature we do not implement */
  OBD_E_RANGE = -7,       /* an offset or count beyond a limit of the format */
  OBD_E_TRUNCATED = -8,   /* the file ends before its records say it does */
  OBD_E_READONLY = -9,    /* a write to something opened read-only */
  OBD_E_EXISTS = -10,     /* a file that must be created already exists */
  OBD_E_NOTFOUND = -11,   /* a file to open does not exist */
} obd_err;

/* Lowest code in use; codes run from OBD_OK down to this value. */
#define OBD_E_LAST OBD_E_NOTFOUND

/* Static name of a code ("corrupt data"); "unknown error" for other values. */
const char *obd_strerror(int code);

/* Records a detail message for the calling thread and returns `code`.
 * printf-style; the message is truncated to OBD_DETAIL_MAX - 1 bytes. */
int obd_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current detail with more context ("layer x: " + detail) and
 * returns `code`. Use when forwarding an error from a lower level. */
int obd_fail_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Detail of the last failure on this thread ("" if none). The pointer stays
 * valid until the next failure on this thread. */
const char *obd_last_error(void);

/* Clears the calling thread's detail. */
void obd_clear_error(void);

#define OBD_DETAIL_MAX 512

/* Forwards a negative result unchanged. */
#define OBD_TRY(expr)                                                          \
  do {                                                                         \
    int64_t obd_try_rc_ = (expr);                                              \
    if (obd_try_rc_ < 0) return (int)obd_try_rc_;                              \
  } while (0)

#endif
