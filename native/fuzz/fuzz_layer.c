/* Fuzz entry for every decoder a layer blob passes through: tar wrapper,
 * ZFile, LSMT read-only layer and the stacked view; and for the trace file
 * decoder (spec §8.3), which reads files that come with images too. Arbitrary bytes must
 * give an error or data, never a crash, a hang or a sanitizer report.
 *
 * Built two ways: with clang -fsanitize=fuzzer for coverage-guided fuzzing
 * (make fuzz), and with replay.c under ASan+UBSan to replay the corpus in
 * every test run (make test). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "file.h"
#include "image.h"
#include "layer.h"
#include "lsmt.h"
#include "tar.h"
#include "trace.h"
#include "zfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* At most this much of a decoded view is read per input, so that a header
 * claiming a huge size cannot make one input run for minutes. */
#define FUZZ_READ_LIMIT (16u << 20)
#define FUZZ_STEP (64u << 10)

typedef struct mem_file {
  obd_file base;
  const uint8_t *data;
} mem_file;

static int64_t mem_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  const mem_file *m = (const mem_file *)f;
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  memcpy(buf, m->data + off, n);
  return (int64_t)n;
}

static void mem_close(obd_file *f) { (void)f; }

static const obd_file_ops mem_ops = {.pread = mem_pread, .close = mem_close};

static void read_some(obd_file *f, uint8_t *buf) {
  for (uint64_t off = 0; off < f->size && off < FUZZ_READ_LIMIT; off += FUZZ_STEP)
    if (obd_file_pread(f, buf, FUZZ_STEP, off) < 0) break;
}

static void read_image(obd_image *img, uint8_t *buf) {
  uint64_t size = obd_image_size(img), s, e, off = 0, done = 0;
  while (done < FUZZ_READ_LIMIT && obd_image_next_data(img, off, &s, &e) == 1) {
    if (obd_image_pread(img, buf, FUZZ_STEP, s) < 0) break;
    done += FUZZ_STEP;
    off = e;
  }
  if (size >= FUZZ_STEP) (void)obd_image_pread(img, buf, FUZZ_STEP, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mem_file m = {.data = data};
  obd_file_init(&m.base, &mem_ops, size, "fuzz");
  uint8_t *buf = malloc(FUZZ_STEP);
  if (!buf) return 0;

  tar_payload p;
  (void)tar_detect(&m.base, &p);

  obd_trace_record recs[16];
  (void)obd_trace_decode(data, size, recs, 16);

  obd_file *z = NULL;
  if (zfile_open(&m.base, 0, &z) == 0) {
    uint64_t bad;
    read_some(z, buf);
    (void)zfile_verify(z, &bad);
    obd_file_close(z);
  }

  lsmt_ro *layer = NULL;
  if (obd_layer_open(&m.base, 0, &layer) == 0) {
    obd_image *img = NULL;
    if (obd_image_open(&layer, 1, NULL, &img) == 0) {
      read_image(img, buf);
      obd_image_close(img);
    }
  }
  free(buf);
  return 0;
}
