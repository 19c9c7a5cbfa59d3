#include "uuid.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "error.h"

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int obd_uuid_parse(const char *s, uint8_t out[16]) {
  size_t b = 0;
  if (!s || strlen(s) != 36)
    return obd_fail(OBD_E_INVAL, "uuid '%s': want 36 characters 8-4-4-4-12",
                    s ? s : "(null)");
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return obd_fail(OBD_E_INVAL, "uuid '%s': want '-' at position %zu", s, i);
      i++;
      continue;
    }
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0)
      return obd_fail(OBD_E_INVAL, "uuid '%s': not hex at position %zu", s, i);
    out[b++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void obd_uuid_format(const uint8_t in[16], char out[OBD_UUID_STR_SIZE]) {
  snprintf(out, OBD_UUID_STR_SIZE,
           "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
           in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9],
           in[10], in[11], in[12], in[13], in[14], in[15]);
}

int obd_uuid_random(uint8_t out[16]) {
  size_t got = 0;
  while (got < 16) {
    ssize_t r = getrandom(out + got, 16 - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return obd_fail(OBD_E_IO, "uuid: getrandom: %s", strerror(errno));
    }
    got += (size_t)r;
  }
  out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
  out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
  return 0;
}

int obd_uuid_normalise(const char *s, char out[OBD_UUID_STR_SIZE]) {
  uint8_t bytes[16];
  OBD_TRY(obd_uuid_parse(s, bytes));
  obd_uuid_format(bytes, out);
  return 0;
}
