/* The trace file format (spec §8.3): header and record codecs, whole-file
 * validation. The recorder lives in trace_recorder.c. */
#include "trace.h"

#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "le.h"

/* §8.3 header offsets (4..7 and 20..23 are padding). */
#define TH_OFF_MAGIC 0
#define TH_OFF_DATA_SIZE 8
#define TH_OFF_CHECKSUM 16
/* §8.3 record offsets (1..3 are padding). */
#define TR_OFF_OP 0
#define TR_OFF_LAYER 4
#define TR_OFF_COUNT 8
#define TR_OFF_OFFSET 16

int obd_trace_encode_header(const obd_trace_header *h, uint8_t *buf, size_t cap) {
  if (cap < OBD_TRACE_HEADER_SIZE)
    return obd_fail(OBD_E_INVAL, "trace header: %zu-byte buffer, need %u", cap,
                    OBD_TRACE_HEADER_SIZE);
  memset(buf, 0, OBD_TRACE_HEADER_SIZE);
  le32_put(buf + TH_OFF_MAGIC, OBD_TRACE_MAGIC);
  le64_put(buf + TH_OFF_DATA_SIZE, h->data_size);
  le32_put(buf + TH_OFF_CHECKSUM, h->checksum);
  return OBD_TRACE_HEADER_SIZE;
}

int obd_trace_decode_header(const uint8_t *buf, size_t len, obd_trace_header *out) {
  if (len < OBD_TRACE_HEADER_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "trace: %zu bytes, shorter than the %u-byte header",
                    len, OBD_TRACE_HEADER_SIZE);
  uint32_t magic = le32_get(buf + TH_OFF_MAGIC);
  if (magic != OBD_TRACE_MAGIC)
    return obd_fail(OBD_E_FORMAT, "trace: magic 0x%08x, want 0x%08x", magic,
                    OBD_TRACE_MAGIC);
  out->data_size = le64_get(buf + TH_OFF_DATA_SIZE);
  out->checksum = le32_get(buf + TH_OFF_CHECKSUM);
  return 0;
}

int obd_trace_encode_record(const obd_trace_record *r, uint8_t *buf, size_t cap) {
  if (cap < OBD_TRACE_RECORD_SIZE)
    return obd_fail(OBD_E_INVAL, "trace record: %zu-byte buffer, need %u", cap,
                    OBD_TRACE_RECORD_SIZE);
  memset(buf, 0, OBD_TRACE_RECORD_SIZE);
  buf[TR_OFF_OP] = r->op;
  le32_put(buf + TR_OFF_LAYER, r->layer_index);
  le64_put(buf + TR_OFF_COUNT, r->count);
  le64_put(buf + TR_OFF_OFFSET, (uint64_t)r->offset);
  return OBD_TRACE_RECORD_SIZE;
}

int obd_trace_decode_record(const uint8_t *buf, size_t len, obd_trace_record *out) {
  if (len < OBD_TRACE_RECORD_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "trace record: %zu bytes, need %u", len,
                    OBD_TRACE_RECORD_SIZE);
  out->op = buf[TR_OFF_OP];
  out->layer_index = le32_get(buf + TR_OFF_LAYER);
  out->count = le64_get(buf + TR_OFF_COUNT);
  out->offset = (int64_t)le64_get(buf + TR_OFF_OFFSET);
  return 0;
}

int obd_trace_has_magic(const uint8_t *buf, size_t len) {
  return len >= OBD_TRACE_HEADER_SIZE && le32_get(buf + TH_OFF_MAGIC) == OBD_TRACE_MAGIC;
}

int64_t obd_trace_decode(const uint8_t *buf, size_t len, obd_trace_record *out,
                         size_t cap) {
  obd_trace_header h;
  OBD_TRY(obd_trace_decode_header(buf, len, &h));
  size_t body = len - OBD_TRACE_HEADER_SIZE;
  if (h.data_size > body)
    return obd_fail(OBD_E_TRUNCATED, "trace: header says %llu bytes of records, file has %zu",
                    (unsigned long long)h.data_size, body);
  if (h.data_size < body)
    return obd_fail(OBD_E_CORRUPT, "trace: %zu bytes follow the header, which says %llu",
                    body, (unsigned long long)h.data_size);
  if (h.data_size % OBD_TRACE_RECORD_SIZE != 0)
    return obd_fail(OBD_E_CORRUPT, "trace: data size %llu is not a multiple of %u",
                    (unsigned long long)h.data_size, OBD_TRACE_RECORD_SIZE);
  const uint8_t *recs = buf + OBD_TRACE_HEADER_SIZE;
  uint32_t crc = crc32c_raw(0, recs, body);
  if (crc != h.checksum)
    return obd_fail(OBD_E_CORRUPT, "trace: checksum 0x%08x, records give 0x%08x",
                    h.checksum, crc);
  size_t n = body / OBD_TRACE_RECORD_SIZE;
  for (size_t i = 0; i < n && i < cap; i++)
    OBD_TRY(obd_trace_decode_record(recs + i * OBD_TRACE_RECORD_SIZE,
                                    OBD_TRACE_RECORD_SIZE, &out[i]));
  return (int64_t)n;
}

int64_t obd_trace_encode(const obd_trace_record *recs, size_t n, uint8_t *buf,
                         size_t cap) {
  if (n > (SIZE_MAX - OBD_TRACE_HEADER_SIZE) / OBD_TRACE_RECORD_SIZE ||
      cap < OBD_TRACE_HEADER_SIZE + n * OBD_TRACE_RECORD_SIZE)
    return obd_fail(OBD_E_RANGE, "trace: %zu records do not fit %zu bytes", n, cap);
  uint32_t crc = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = buf + OBD_TRACE_HEADER_SIZE + i * OBD_TRACE_RECORD_SIZE;
    OBD_TRY(obd_trace_encode_record(&recs[i], p, OBD_TRACE_RECORD_SIZE));
    crc = crc32c_raw(crc, p, OBD_TRACE_RECORD_SIZE);
  }
  obd_trace_header h = {(uint64_t)n * OBD_TRACE_RECORD_SIZE, crc};
  OBD_TRY(obd_trace_encode_header(&h, buf, cap));
  return (int64_t)(OBD_TRACE_HEADER_SIZE + n * OBD_TRACE_RECORD_SIZE);
}
