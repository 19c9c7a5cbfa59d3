/* Test helpers for reading LSMT layers without the image stack. */
#ifndef OBD_TESTS_LSMT_READ_H
#define OBD_TESTS_LSMT_READ_H

#include <stdint.h>
#include <string.h>

#include "error.h"
#include "file.h"
#include "lsmt.h"

/* A single-layer reader over a read-only layer (the stacked one is image.c). */
static inline int ro_read(lsmt_ro *l, uint8_t *buf, size_t n, uint64_t off) {
  size_t count;
  const lsmt_seg *idx = lsmt_ro_index(l, &count);
  uint64_t first = off / LSMT_SECTOR, s = first, end = first + n / LSMT_SECTOR;
  memset(buf, 0, n);
  while (s < end) {
    lsmt_seg segs[16];
    size_t got = lsmt_index_lookup(idx, count, s, end - s, segs, 16);
    for (size_t i = 0; i < got; i++) {
      uint8_t *dst = buf + (lsmt_seg_offset(segs[i]) - first) * LSMT_SECTOR;
      if (!lsmt_seg_zeroed(segs[i])) {
        int64_t r = obd_file_pread(lsmt_ro_file(l), dst,
                                   (size_t)lsmt_seg_length(segs[i]) * LSMT_SECTOR,
                                   lsmt_seg_moffset(segs[i]) * LSMT_SECTOR);
        if (r < 0) return (int)r;
      }
      s = lsmt_seg_end(segs[i]);
    }
    if (got < 16) break;
  }
  return 0;
}

static inline int open_ro_path(const char *path, lsmt_ro **out) {
  obd_file *f;
  OBD_TRY(obd_file_open_path(path, &f));
  return lsmt_ro_open(f, 1, out);
}

#endif
