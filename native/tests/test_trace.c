/* Trace files (spec §8.3) and the recorder (§8.2): golden bytes worked out
 * by hand from the spec, every one-byte mutation and truncation of them,
 * the recorder under concurrent writers, and recording through a real
 * layer opened with obd_trace_layer_open. */
#include <pthread.h>
#include <stdint.h>

#include "alloc.h"
#include "check.h"
#include "image.h"
#include "trace.h"

#define ERR(code) ((uint64_t)(int64_t)(code))

/* Two reads: 4096 bytes at 0 of layer 0, 64 KiB at 1 MiB of layer 1. The
 * checksum 0xa231fe31 is the raw CRC32C (seed 0) of the 48 record bytes,
 * computed bit by bit outside this code base. */
static const uint8_t golden[72] = {
    0x20, 0x18, 0xef, 0xc2, 0x00, 0x00, 0x00, 0x00, /* magic, padding */
    0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* data_size 48 */
    0x31, 0xfe, 0x31, 0xa2, 0x00, 0x00, 0x00, 0x00, /* checksum, padding */
    0x52, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 'R', layer 0 */
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* count 4096 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* offset 0 */
    0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* 'R', layer 1 */
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* count 65536 */
    0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, /* offset 1 MiB */
};

static const obd_trace_record golden_recs[2] = {
    {OBD_TRACE_OP_READ, 0, 4096, 0},
    {OBD_TRACE_OP_READ, 1, 65536, 1048576},
};

static int same_record(const obd_trace_record *a, const obd_trace_record *b) {
  return a->op == b->op && a->layer_index == b->layer_index && a->count == b->count &&
         a->offset == b->offset;
}

static void test_encode_writes_the_golden_bytes(void) {
  uint8_t buf[80];
  memset(buf, 0xee, sizeof buf);
  CHECK_EQ_U64(obd_trace_encode(golden_recs, 2, buf, sizeof buf), 72);
  CHECK(memcmp(buf, golden, 72) == 0);
  CHECK_EQ_U64(buf[72], 0xee); /* nothing past the file */
  CHECK_EQ_U64(obd_trace_encode(golden_recs, 2, buf, 71), ERR(OBD_E_RANGE));
}

static void test_decode_reads_the_golden_bytes(void) {
  obd_trace_record out[3];
  memset(out, 0, sizeof out);
  CHECK_EQ_U64(obd_trace_decode(golden, sizeof golden, out, 3), 2);
  CHECK(same_record(&out[0], &golden_recs[0]));
  CHECK(same_record(&out[1], &golden_recs[1]));
  /* A smaller cap decodes a prefix but still counts every record. */
  memset(out, 0, sizeof out);
  CHECK_EQ_U64(obd_trace_decode(golden, sizeof golden, out, 1), 2);
  CHECK(same_record(&out[0], &golden_recs[0]));
  CHECK_EQ_U64(out[1].count, 0);
  CHECK_EQ_U64(obd_trace_decode(golden, sizeof golden, NULL, 0), 2);
  CHECK(obd_trace_has_magic(golden, sizeof golden));
  CHECK(!obd_trace_has_magic(golden, 23));
  CHECK(!obd_trace_has_magic((const uint8_t *)"/usr/bin/python3\n/etc/\n/x", 26));
}

static void test_empty_trace_round_trips(void) {
  uint8_t buf[24];
  CHECK_EQ_U64(obd_trace_encode(NULL, 0, buf, sizeof buf), 24);
  CHECK_EQ_U64(obd_trace_decode(buf, sizeof buf, NULL, 0), 0);
}

/* Every single-bit change is caught, except in the header padding, which
 * readers ignore (spec §8.3; record padding is under the checksum). */
static void test_every_flipped_bit_is_rejected_outside_header_padding(void) {
  uint8_t buf[72];
  obd_trace_record out[2];
  for (size_t i = 0; i < sizeof golden; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(buf, golden, sizeof buf);
      buf[i] ^= (uint8_t)(1u << bit);
      int64_t rc = obd_trace_decode(buf, sizeof buf, out, 2);
      int padding = (i >= 4 && i < 8) || (i >= 20 && i < 24);
      if (padding) {
        CHECK_EQ_U64(rc, 2);
        CHECK(same_record(&out[1], &golden_recs[1]));
      } else {
        CHECK(rc < 0);
      }
      if (i < 4) CHECK_EQ_U64(rc, ERR(OBD_E_FORMAT));
      if (i >= 16 && i < 20) CHECK_EQ_U64(rc, ERR(OBD_E_CORRUPT));
      if (i >= 24) CHECK_EQ_U64(rc, ERR(OBD_E_CORRUPT));
    }
  }
}

static void test_sizes_that_disagree_with_the_file_are_rejected(void) {
  uint8_t buf[96];
  memcpy(buf, golden, sizeof golden);
  buf[8] = 72; /* says three records, has two */
  CHECK_EQ_U64(obd_trace_decode(buf, 72, NULL, 0), ERR(OBD_E_TRUNCATED));
  CHECK(strstr(obd_last_error(), "72") != NULL);
  buf[8] = 24; /* says one, has two */
  CHECK_EQ_U64(obd_trace_decode(buf, 72, NULL, 0), ERR(OBD_E_CORRUPT));
  buf[8] = 47; /* not whole records, and the file is longer */
  CHECK_EQ_U64(obd_trace_decode(buf, 71, NULL, 0), ERR(OBD_E_CORRUPT));
  buf[8] = 0xff; /* a huge size must not overflow any check */
  memset(buf + 9, 0xff, 7);
  CHECK_EQ_U64(obd_trace_decode(buf, 72, NULL, 0), ERR(OBD_E_TRUNCATED));
  /* Trailing garbage after a valid trace. */
  memcpy(buf, golden, sizeof golden);
  buf[72] = 0;
  CHECK_EQ_U64(obd_trace_decode(buf, 73, NULL, 0), ERR(OBD_E_CORRUPT));
}

static void test_every_truncation_is_rejected(void) {
  for (size_t len = 0; len < sizeof golden; len++) {
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    memcpy(copy, golden, len);
    int64_t rc = obd_trace_decode(copy, len, NULL, 0);
    free(copy);
    CHECK_EQ_U64(rc, ERR(OBD_E_TRUNCATED));
  }
}

static void test_record_codec_checks_sizes(void) {
  uint8_t buf[24];
  obd_trace_record r;
  obd_trace_header h = {48, 1};
  CHECK_EQ_U64(obd_trace_encode_record(&golden_recs[0], buf, 23), ERR(OBD_E_INVAL));
  CHECK_EQ_U64(obd_trace_decode_record(golden + 24, 23, &r), ERR(OBD_E_TRUNCATED));
  CHECK_EQ_U64(obd_trace_encode_header(&h, buf, 23), ERR(OBD_E_INVAL));
  CHECK_EQ_U64(obd_trace_decode_header(golden, 23, &h), ERR(OBD_E_TRUNCATED));
  CHECK_EQ_U64(obd_trace_decode_header(golden, 24, &h), 0);
  CHECK_EQ_U64(h.data_size, 48);
  CHECK_EQ_U64(h.checksum, 0xa231fe31u);
  /* A write record and a negative offset survive the codec as they are. */
  obd_trace_record w = {OBD_TRACE_OP_WRITE, 7, 512, -4096};
  CHECK_EQ_U64(obd_trace_encode_record(&w, buf, sizeof buf), 24);
  CHECK_EQ_U64(obd_trace_decode_record(buf, sizeof buf, &r), 0);
  CHECK(same_record(&r, &w));
}

/* ---- the recorder ---- */

#define THREADS 8
#define PER_THREAD 20000

typedef struct adder_arg {
  obd_trace_recorder *r;
  uint32_t id;
} adder_arg;

static void *adder(void *arg) {
  adder_arg *a = arg;
  for (uint64_t i = 0; i < PER_THREAD; i++) obd_trace_recorder_add(a->r, a->id, 512, i * 512);
  return NULL;
}

/* Decodes the recorder's trace; the caller frees *recs. */
static int64_t dump(obd_trace_recorder *r, obd_trace_record **recs) {
  int64_t need = obd_trace_recorder_encode(r, NULL, 0);
  uint8_t *buf = malloc((size_t)need);
  if (obd_trace_recorder_encode(r, buf, (size_t)need) != need) {
    free(buf);
    return -1;
  }
  int64_t n = obd_trace_decode(buf, (size_t)need, NULL, 0);
  *recs = malloc((n > 0 ? (size_t)n : 1) * sizeof **recs);
  if (n >= 0) obd_trace_decode(buf, (size_t)need, *recs, (size_t)n);
  free(buf);
  return n;
}

static void test_recorder_keeps_every_record_of_concurrent_threads(void) {
  obd_trace_recorder *r = NULL;
  pthread_t t[THREADS];
  adder_arg args[THREADS];
  CHECK(obd_trace_recorder_create(&r) == 0);
  for (uint32_t i = 0; i < THREADS; i++) {
    args[i] = (adder_arg){r, i};
    pthread_create(&t[i], NULL, adder, &args[i]);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  obd_trace_record *recs = NULL;
  int64_t n = dump(r, &recs);
  CHECK_EQ_U64(obd_trace_recorder_count(r), THREADS * PER_THREAD);
  CHECK_EQ_U64(obd_trace_recorder_dropped(r), 0);
  obd_trace_recorder_release(r);
  /* Each thread's records in the order it made them. */
  uint64_t next[THREADS] = {0};
  int ordered = n == THREADS * PER_THREAD;
  for (int64_t i = 0; ordered && i < n; i++) {
    uint32_t id = recs[i].layer_index;
    ordered = id < THREADS && recs[i].op == OBD_TRACE_OP_READ && recs[i].count == 512 &&
              recs[i].offset == (int64_t)(next[id]++ * 512);
  }
  free(recs);
  CHECK_EQ_U64(n, THREADS * PER_THREAD);
  CHECK(ordered);
}

static void test_recorder_stop_and_allocation_failure(void) {
  obd_trace_recorder *r = NULL;
  CHECK(obd_trace_recorder_create(&r) == 0);
  obd_trace_recorder_add(r, 0, 512, 0);
  /* The next chunk cannot be allocated: the record is dropped, counted. */
  for (uint32_t i = 1; i < 4096; i++) obd_trace_recorder_add(r, 0, 512, i * 512);
  obd_alloc_fail_after(0);
  obd_trace_recorder_add(r, 0, 512, 4096u * 512);
  obd_alloc_fail_after(-1);
  CHECK_EQ_U64(obd_trace_recorder_count(r), 4096);
  CHECK_EQ_U64(obd_trace_recorder_dropped(r), 1);
  obd_trace_recorder_add(r, 0, 512, 4097u * 512);
  CHECK_EQ_U64(obd_trace_recorder_count(r), 4097);
  obd_trace_recorder_stop(r);
  obd_trace_recorder_add(r, 0, 512, 0);
  CHECK_EQ_U64(obd_trace_recorder_count(r), 4097);
  uint8_t small[24];
  CHECK_EQ_U64(obd_trace_recorder_encode(r, small, sizeof small), 24 + 4097 * 24);
  obd_trace_recorder_release(r);
}

/* The recorder's file equals obd_trace_encode of the same records. */
static void test_recorder_encodes_like_the_codec(void) {
  obd_trace_recorder *r = NULL;
  uint8_t a[72], b[72];
  CHECK(obd_trace_recorder_create(&r) == 0);
  obd_trace_recorder_add(r, 0, 4096, 0);
  obd_trace_recorder_add(r, 1, 65536, 1048576);
  CHECK_EQ_U64(obd_trace_recorder_encode(r, a, sizeof a), 72);
  obd_trace_recorder_release(r);
  CHECK_EQ_U64(obd_trace_encode(golden_recs, 2, b, sizeof b), 72);
  CHECK(memcmp(a, b, 72) == 0);
  CHECK(memcmp(a, golden, 72) == 0);
}

/* Records the LSMT reads of layer.zfile: its open (header first, at
 * offset 0) and then an image read, whose bytes must be right. */
static void test_layer_reads_are_recorded_in_lsmt_offsets(void) {
  obd_trace_recorder *r = NULL;
  lsmt_ro *layer = NULL;
  obd_image *img = NULL;
  size_t vlen = 0;
  uint8_t *view = check_slurp(check_vector("view.raw"), &vlen);
  CHECK(view != NULL);
  CHECK(obd_trace_recorder_create(&r) == 0);
  CHECK(obd_trace_layer_open_path(check_vector("overlaybd.commit"), r, 3, &layer) == 0);
  uint64_t lsmt_size = obd_file_size(lsmt_ro_file(layer));
  uint64_t at_open = obd_trace_recorder_count(r);
  CHECK(obd_image_open(&layer, 1, NULL, &img) == 0);
  uint8_t *buf = malloc(1 << 20);
  int64_t got = obd_image_pread(img, buf, 1 << 20, 8u << 20);
  int same = got == (1 << 20) && memcmp(buf, view + (8u << 20), 1 << 20) == 0;
  free(buf);
  free(view);
  obd_trace_recorder_stop(r);
  obd_image_close(img); /* the recorder outlives its layers' files... */
  obd_trace_record *recs = NULL;
  int64_t n = dump(r, &recs); /* ...and the other way round, too */
  obd_trace_recorder_release(r);
  uint64_t bytes = 0;
  int in_file = n > 0;
  for (int64_t i = 0; i < n; i++) {
    in_file = in_file && recs[i].layer_index == 3 && recs[i].offset >= 0 &&
              (uint64_t)recs[i].offset + recs[i].count <= lsmt_size;
    if (i >= (int64_t)at_open) bytes += recs[i].count;
  }
  int header_first = n > 0 && recs[0].offset == 0;
  free(recs);
  CHECK(same);
  CHECK(at_open >= 2); /* header and trailer/index */
  CHECK(header_first);
  CHECK(in_file);
  CHECK((int64_t)at_open < n);
  CHECK(bytes > 0 && bytes <= 1 << 20);
}

static void test_failed_traced_open_releases_everything(void) {
  obd_trace_recorder *r = NULL;
  lsmt_ro *layer = NULL;
  CHECK(obd_trace_recorder_create(&r) == 0);
  CHECK_EQ_U64(obd_trace_layer_open_path(check_vector("view.raw"), r, 0, &layer), ERR(OBD_E_FORMAT));
  CHECK(strstr(obd_last_error(), "view.raw") != NULL);
  CHECK(obd_trace_layer_open_path("/nonexistent/layer", r, 0, &layer) == OBD_E_NOTFOUND);
  for (int64_t k = 0; k < 6; k++) { /* every allocation of the open path */
    obd_alloc_fail_after(k);
    int rc = obd_trace_layer_open_path(check_vector("overlaybd.commit"), r, 0, &layer);
    obd_alloc_fail_after(-1);
    if (rc == 0) lsmt_ro_close(layer);
    else CHECK_EQ_U64(rc, ERR(OBD_E_NOMEM));
  }
  obd_trace_recorder_release(r); /* ASan: nothing leaked, nothing freed twice */
}

int main(void) {
  static const check_case cases[] = {
      {"encode writes the golden bytes", test_encode_writes_the_golden_bytes},
      {"decode reads the golden bytes", test_decode_reads_the_golden_bytes},
      {"empty trace round trips", test_empty_trace_round_trips},
      {"every flipped bit is rejected outside header padding",
       test_every_flipped_bit_is_rejected_outside_header_padding},
      {"sizes that disagree with the file are rejected",
       test_sizes_that_disagree_with_the_file_are_rejected},
      {"every truncation is rejected", test_every_truncation_is_rejected},
      {"record codec checks sizes", test_record_codec_checks_sizes},
      {"recorder keeps every record of concurrent threads",
       test_recorder_keeps_every_record_of_concurrent_threads},
      {"recorder stop and allocation failure", test_recorder_stop_and_allocation_failure},
      {"recorder encodes like the codec", test_recorder_encodes_like_the_codec},
      {"layer reads are recorded in lsmt offsets", test_layer_reads_are_recorded_in_lsmt_offsets},
      {"failed traced open releases everything", test_failed_traced_open_releases_everything},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
