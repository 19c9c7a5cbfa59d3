/* UUIDs in the string form overlaybd stores in LSMT headers (spec §0):
 * 36 characters 8-4-4-4-12 plus NUL, upper-case hex of the 16 bytes in memory
 * order; parsing accepts either case. */
#ifndef OBD_UUID_H
#define OBD_UUID_H

#include <stdint.h>

#define OBD_UUID_STR_SIZE 37

/* Parses s (exactly 36 chars, hyphens at 8/13/18/23). Returns 0 or OBD_E_INVAL. */
int obd_uuid_parse(const char *s, uint8_t out[16]);

/* Writes the upper-case string form (36 chars + NUL) into out. */
void obd_uuid_format(const uint8_t in[16], char out[OBD_UUID_STR_SIZE]);

/* Fills out with 16 random bytes (RFC 4122 version 4 bits set). */
int obd_uuid_random(uint8_t out[16]);

/* Normalises s into upper case into out; OBD_E_INVAL if s is not a UUID. */
int obd_uuid_normalise(const char *s, char out[OBD_UUID_STR_SIZE]);

#endif
