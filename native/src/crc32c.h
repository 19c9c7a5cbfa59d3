/* Raw CRC32C (Castagnoli, reflected 0x82F63B78) with no pre- or
 * post-inversion, as overlaybd uses it (spec §0.1):
 * crc32c_raw(0, "123456789", 9) == 0x58E3FA20. Thread-safe, no allocation. */
#ifndef OBD_CRC32C_H
#define OBD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Seed used for ZFile per-block CRCs (spec §1.4). */
#define CRC32C_BLOCK_SEED 100007u

/* Continues a raw CRC32C from `seed` over len bytes; SSE4.2 when the CPU has
 * it, otherwise the table-driven software path. */
uint32_t crc32c_raw(uint32_t seed, const void *buf, size_t len);

/* The software path alone (for tests and machines without SSE4.2). */
uint32_t crc32c_raw_sw(uint32_t seed, const void *buf, size_t len);

/* 1 if crc32c_raw uses the SSE4.2 instruction. */
int crc32c_hw_available(void);

#endif
