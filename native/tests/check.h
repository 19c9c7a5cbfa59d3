/* A minimal test harness: each tests/test_*.c is its own binary, built with
 * ASan+UBSan, that lists its cases in a table and calls check_main(). */
#ifndef OBD_CHECK_H
#define OBD_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

typedef struct check_case {
  const char *name;
  void (*fn)(void);
} check_case;

static int check_failed_;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed (last error: %s)\n",          \
              __FILE__, __LINE__, #cond, obd_last_error());                    \
      check_failed_ = 1;                                                       \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
  do {                                                                         \
    unsigned long long check_a_ = (unsigned long long)(a);                     \
    unsigned long long check_b_ = (unsigned long long)(b);                     \
    if (check_a_ != check_b_) {                                                \
      fprintf(stderr, "  %s:%d: %s == %s failed: %llu != %llu (last error: %s)\n", \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_,                  \
              obd_last_error());                                               \
      check_failed_ = 1;                                                       \
      return;                                                                  \
    }                                                                          \
  } while (0)

/* Path of a file under the shared golden vectors. */
static inline const char *check_vector(const char *rel) {
  static _Thread_local char path[4096];
  const char *dir = getenv("OBD_VECTORS");
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "../../shared/vectors", rel);
  return path;
}

/* A fresh path under the test scratch directory (OBD_TMP or /tmp). */
static inline const char *check_tmp(const char *name) {
  static _Thread_local char path[4096];
  const char *dir = getenv("OBD_TMP");
  if (!dir) dir = "/tmp";
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
  if (system(cmd) != 0) return NULL;
  snprintf(path, sizeof path, "%s/%d-%s", dir, (int)getpid(), name);
  remove(path);
  return path;
}

/* The whole file at path in a malloc'd buffer (caller frees), its length in
 * *len; NULL when it cannot be read. */
static inline uint8_t *check_slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(fp);
  *len = n >= 0 ? (size_t)n : 0;
  return buf;
}

/* Writes len bytes to a new file at path; 0 or -1. */
static inline int check_spill(const char *path, const uint8_t *buf, size_t len) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  size_t w = fwrite(buf, 1, len, fp);
  return fclose(fp) == 0 && w == len ? 0 : -1;
}

static inline int check_main(const check_case *cases, size_t n) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    check_failed_ = 0;
    obd_clear_error();
    cases[i].fn();
    if (check_failed_) {
      failed++;
      printf("FAIL %s\n", cases[i].name);
    } else {
      passed++;
      printf("ok   %s\n", cases[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#endif
