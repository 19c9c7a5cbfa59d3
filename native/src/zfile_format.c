/* The ZFile header/trailer record (spec §1.2) and detection (§1.7). Nothing
 * else in the core touches the bytes of this record. */
#include <assert.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "le.h"
#include "zfile.h"

/* Field offsets of the 512-byte record, spec §1.2. */
#define REC_MAGIC0 0
#define REC_MAGIC1 8
#define REC_SIZE 24
#define REC_DIGEST 28
#define REC_FLAGS 32
#define REC_INDEX_OFFSET 40
#define REC_INDEX_SIZE 48
#define REC_ORIGINAL_SIZE 56
#define REC_INDEX_CRC 64
#define REC_BLOCK_SIZE 72
#define REC_ALGO 76
#define REC_LEVEL 77
#define REC_USE_DICT 78
#define REC_DICT_SIZE 84
#define REC_VERIFY 88
#define REC_MEANINGFUL 96 /* value of the size field */

static const uint8_t magic0[8] = {0x5A, 0x46, 0x69, 0x6C, 0x65, 0x00, 0x01, 0x00};
static const uint8_t magic1[16] = {0x74, 0x75, 0x6A, 0x69, 0x2E, 0x79, 0x79, 0x66,
                                   0x40, 0x41, 0x6C, 0x69, 0x62, 0x61, 0x62, 0x61};

static_assert(ZFILE_RECORD_SIZE == 512, "ZFile record is 512 bytes (§1.2)");
static_assert(REC_VERIFY < REC_MEANINGFUL, "fields lie in the meaningful part");

/* §1.2: CRC of the whole record with the digest field taken as zero. */
static uint32_t record_digest(const uint8_t *rec) {
  static const uint8_t zero[4];
  uint32_t crc = crc32c_raw(0, rec, REC_DIGEST);
  crc = crc32c_raw(crc, zero, sizeof zero);
  return crc32c_raw(crc, rec + REC_DIGEST + 4,
                    ZFILE_RECORD_SIZE - (REC_DIGEST + 4));
}

int zfile_record_decode(const uint8_t *buf, size_t len, zfile_record *out,
                        int *digest_ok) {
  if (len < ZFILE_RECORD_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "zfile record: %zu bytes, need %d", len,
                    ZFILE_RECORD_SIZE);
  if (memcmp(buf + REC_MAGIC0, magic0, sizeof magic0) != 0 ||
      memcmp(buf + REC_MAGIC1, magic1, sizeof magic1) != 0)
    return obd_fail(OBD_E_FORMAT, "zfile record: bad magic");
  memset(out, 0, sizeof *out);
  out->digest = le32_get(buf + REC_DIGEST);
  out->flags = le64_get(buf + REC_FLAGS);
  out->index_offset = le64_get(buf + REC_INDEX_OFFSET);
  out->index_size = le64_get(buf + REC_INDEX_SIZE);
  out->original_file_size = le64_get(buf + REC_ORIGINAL_SIZE);
  out->index_crc = le32_get(buf + REC_INDEX_CRC);
  out->block_size = le32_get(buf + REC_BLOCK_SIZE);
  out->algo = buf[REC_ALGO];
  out->level = buf[REC_LEVEL];
  out->use_dict = buf[REC_USE_DICT];
  out->dict_size = le32_get(buf + REC_DICT_SIZE);
  out->verify = buf[REC_VERIFY];
  if (digest_ok) *digest_ok = record_digest(buf) == out->digest;
  return 0;
}

int zfile_record_encode(const zfile_record *rec, uint8_t *buf, size_t cap) {
  if (cap < ZFILE_RECORD_SIZE)
    return obd_fail(OBD_E_INVAL, "zfile record: buffer of %zu bytes, need %d",
                    cap, ZFILE_RECORD_SIZE);
  memset(buf, 0, ZFILE_RECORD_SIZE);
  memcpy(buf + REC_MAGIC0, magic0, sizeof magic0);
  memcpy(buf + REC_MAGIC1, magic1, sizeof magic1);
  le32_put(buf + REC_SIZE, REC_MEANINGFUL);
  le64_put(buf + REC_FLAGS, rec->flags);
  le64_put(buf + REC_INDEX_OFFSET, rec->index_offset);
  le64_put(buf + REC_INDEX_SIZE, rec->index_size);
  le64_put(buf + REC_ORIGINAL_SIZE, rec->original_file_size);
  le32_put(buf + REC_INDEX_CRC, rec->index_crc);
  le32_put(buf + REC_BLOCK_SIZE, rec->block_size);
  buf[REC_ALGO] = rec->algo;
  buf[REC_LEVEL] = rec->level;
  buf[REC_USE_DICT] = rec->use_dict;
  le32_put(buf + REC_DICT_SIZE, rec->dict_size);
  buf[REC_VERIFY] = rec->verify;
  if (rec->flags & ZFILE_FLAG_DIGEST)
    le32_put(buf + REC_DIGEST, record_digest(buf));
  return ZFILE_RECORD_SIZE;
}

int zfile_detect(obd_file *f) {
  uint8_t buf[ZFILE_RECORD_SIZE];
  zfile_record rec;
  int digest_ok;
  if (f->size < ZFILE_RECORD_SIZE) return 0;
  OBD_TRY(obd_file_read_exact(f, buf, sizeof buf, 0));
  if (zfile_record_decode(buf, sizeof buf, &rec, &digest_ok) < 0) return 0;
  if (!(rec.flags & ZFILE_FLAG_HEADER)) return 0;
  if ((rec.flags & ZFILE_FLAG_DIGEST) && !digest_ok)
    return obd_fail(OBD_E_CORRUPT,
                    "%s: zfile header at offset 0: digest mismatch (stored 0x%08x)",
                    f->name, rec.digest);
  return 1;
}
