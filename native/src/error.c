#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char detail[OBD_DETAIL_MAX];

const char *obd_strerror(int code) {
  switch (code) {
  case OBD_OK: return "success";
  case OBD_E_NOMEM: return "out of memory";
  case OBD_E_IO: return "i/o error";
  case OBD_E_INVAL: return "invalid argument";
  case OBD_E_FORMAT: return "unrecognised format";
  case OBD_E_CORRUPT: return "corrupt data";
  case OBD_E_UNSUPPORTED: return "unsupported feature";
  case OBD_E_RANGE: return "out of range";
  case OBD_E_TRUNCATED: return "truncated file";
  case OBD_E_READONLY: return "read-only";
  case OBD_E_EXISTS: return "already exists";
  case OBD_E_NOTFOUND: return "not found";
  default: return "unknown error";
  }
}

int obd_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return code;
}

/* detail = "a: b", cut at OBD_DETAIL_MAX - 1 bytes. Plain copies, because
 * gcc's -Wformat-truncation rejects the same thing done with snprintf. */
static void join_detail(const char *a, const char *b) {
  const char *parts[3] = {a, ": ", b};
  size_t len = 0;
  for (int i = 0; i < 3; i++) {
    size_t n = strnlen(parts[i], sizeof detail - 1 - len);
    memcpy(detail + len, parts[i], n);
    len += n;
  }
  detail[len] = '\0';
}

int obd_fail_wrap(int code, const char *fmt, ...) {
  char prefix[OBD_DETAIL_MAX];
  char inner[OBD_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(inner, detail, sizeof inner);
  join_detail(prefix, inner[0] != '\0' ? inner : obd_strerror(code));
  return code;
}

const char *obd_last_error(void) { return detail; }

void obd_clear_error(void) { detail[0] = '\0'; }
