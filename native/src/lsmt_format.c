/* On-disk records of LSMT (spec §2.1, §2.3): the only code that touches the
 * bytes of a header, trailer or segment record. */
#include <string.h>

#include "error.h"
#include "le.h"
#include "lsmt.h"

/* §2.1 header/trailer field offsets. */
#define HDR_MAGIC0 0
#define HDR_MAGIC1 8
#define HDR_SIZE 24
#define HDR_FLAGS 28
#define HDR_INDEX_OFFSET 32
#define HDR_INDEX_SIZE 40
#define HDR_VIRTUAL_SIZE 48
#define HDR_UUID 56
#define HDR_PARENT_UUID 93
#define HDR_VERSION 132
#define HDR_SUB_VERSION 133
#define HDR_USER_TAG 134
#define HDR_USER_TAG_LEN 256
#define HDR_STRUCT_SIZE 390 /* §2.1: value of the size field */

/* §2.3 word offsets inside a segment record. */
#define SEG_W0 0
#define SEG_W1 8

static const uint8_t magic0[8] = {0x4C, 0x53, 0x4D, 0x54, 0x00, 0x01, 0x02, 0x00};
static const uint8_t magic1[16] = {0x65, 0x7E, 0x63, 0xD2, 0x94, 0x44, 0x08, 0x4C,
                                   0xA2, 0xD2, 0xC8, 0xEC, 0x4F, 0xCF, 0xAE, 0x8A};

_Static_assert(HDR_USER_TAG + HDR_USER_TAG_LEN == HDR_STRUCT_SIZE,
               "user_tag ends the header struct");
_Static_assert(HDR_PARENT_UUID + OBD_UUID_STR_SIZE + 2 == HDR_VERSION,
               "two reserved bytes sit between parent_uuid and version");

int lsmt_seg_decode(const uint8_t *buf, size_t len, lsmt_seg *out) {
  if (len < LSMT_SEG_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "lsmt segment: %zu bytes, need %u", len,
                    LSMT_SEG_SIZE);
  out->w0 = le64_get(buf + SEG_W0);
  out->w1 = le64_get(buf + SEG_W1);
  return 0;
}

int lsmt_seg_encode(lsmt_seg s, uint8_t *buf, size_t cap) {
  if (cap < LSMT_SEG_SIZE)
    return obd_fail(OBD_E_INVAL, "lsmt segment: %zu bytes of room, need %u",
                    cap, LSMT_SEG_SIZE);
  le64_put(buf + SEG_W0, s.w0);
  le64_put(buf + SEG_W1, s.w1);
  return 0;
}

/* Copies a fixed-size char field that need not be NUL-terminated. */
static void field_to_str(const uint8_t *src, size_t n, char *dst) {
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int lsmt_header_decode(const uint8_t *buf, size_t len, lsmt_header *out) {
  if (len < LSMT_HEADER_SIZE)
    return obd_fail(OBD_E_TRUNCATED, "lsmt header: %zu bytes, need %u", len,
                    LSMT_HEADER_SIZE);
  if (memcmp(buf + HDR_MAGIC0, magic0, sizeof magic0) != 0 ||
      memcmp(buf + HDR_MAGIC1, magic1, sizeof magic1) != 0)
    return obd_fail(OBD_E_FORMAT, "lsmt header: bad magic");
  memset(out, 0, sizeof *out);
  out->flags = le32_get(buf + HDR_FLAGS);
  out->index_offset = le64_get(buf + HDR_INDEX_OFFSET);
  out->index_size = le64_get(buf + HDR_INDEX_SIZE);
  out->virtual_size = le64_get(buf + HDR_VIRTUAL_SIZE);
  /* Old writers leave garbage here; the last byte is forced to NUL. */
  field_to_str(buf + HDR_UUID, OBD_UUID_STR_SIZE - 1, out->uuid);
  field_to_str(buf + HDR_PARENT_UUID, OBD_UUID_STR_SIZE - 1, out->parent_uuid);
  out->version = buf[HDR_VERSION];
  out->sub_version = buf[HDR_SUB_VERSION];
  field_to_str(buf + HDR_USER_TAG, HDR_USER_TAG_LEN, out->user_tag);
  return 0;
}

int lsmt_header_encode(const lsmt_header *in, uint8_t *buf, size_t cap) {
  if (cap < LSMT_HEADER_SIZE)
    return obd_fail(OBD_E_INVAL, "lsmt header: %zu bytes of room, need %u",
                    cap, LSMT_HEADER_SIZE);
  memset(buf, 0, LSMT_HEADER_SIZE);
  memcpy(buf + HDR_MAGIC0, magic0, sizeof magic0);
  memcpy(buf + HDR_MAGIC1, magic1, sizeof magic1);
  le32_put(buf + HDR_SIZE, HDR_STRUCT_SIZE);
  le32_put(buf + HDR_FLAGS, in->flags);
  le64_put(buf + HDR_INDEX_OFFSET, in->index_offset);
  le64_put(buf + HDR_INDEX_SIZE, in->index_size);
  le64_put(buf + HDR_VIRTUAL_SIZE, in->virtual_size);
  memcpy(buf + HDR_UUID, in->uuid, strnlen(in->uuid, OBD_UUID_STR_SIZE - 1));
  memcpy(buf + HDR_PARENT_UUID, in->parent_uuid,
         strnlen(in->parent_uuid, OBD_UUID_STR_SIZE - 1));
  buf[HDR_VERSION] = in->version;
  buf[HDR_SUB_VERSION] = in->sub_version;
  memcpy(buf + HDR_USER_TAG, in->user_tag,
         strnlen(in->user_tag, HDR_USER_TAG_LEN));
  return 0;
}
