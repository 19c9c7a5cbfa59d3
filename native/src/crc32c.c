/* Raw CRC32C (spec §0.1): the reflected Castagnoli CRC with no inversion on
 * entry or exit. The SSE4.2 crc32 instruction computes exactly this state
 * update, so both paths share one definition of the result.
 *
 * Software path: slicing-by-8 tables. Hardware path: the crc32 instruction
 * has a latency of three cycles but a throughput of one per cycle, so long
 * buffers are split into three interleaved streams whose CRCs are merged with
 * precomputed "append N zero bytes" operators (CRC is linear over GF(2)). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial, §0.1 */

/* Stream lengths for the three-way hardware path. LONG covers big blocks
 * (uncompressible 64 KiB ZFile blocks), SHORT the typical 1..4 KiB ones. */
#define CRC32C_LONG 8192u
#define CRC32C_SHORT 256u

static uint32_t sw_table[8][256];
/* shift_long[k][b]: the CRC state after appending CRC32C_LONG zero bytes to
 * the state (b << 8k); likewise shift_short. */
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static int hw_available;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint32_t sw_byte(uint32_t crc, uint8_t b) {
  return sw_table[0][(crc ^ b) & 0xFF] ^ (crc >> 8);
}

static void init_sw_table(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    sw_table[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++)
    for (int t = 1; t < 8; t++)
      sw_table[t][n] = sw_byte(sw_table[t - 1][n], 0);
}

static uint32_t sw_zeros(uint32_t crc, size_t len) {
  while (len--) crc = sw_byte(crc, 0);
  return crc;
}

/* The zero-append operator is linear, so each table entry is the XOR of the
 * operator applied to the set bits of its index. */
static void init_shift_table(uint32_t table[4][256], size_t len) {
  uint32_t basis[32];
  for (int bit = 0; bit < 32; bit++) basis[bit] = sw_zeros(1u << bit, len);
  for (int k = 0; k < 4; k++)
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t v = 0;
      for (int bit = 0; bit < 8; bit++)
        if (b & (1u << bit)) v ^= basis[8 * k + bit];
      table[k][b] = v;
    }
}

static uint32_t shift(const uint32_t table[4][256], uint32_t crc) {
  return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^
         table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
}

static void init_all(void) {
  init_sw_table();
  init_shift_table(shift_long, CRC32C_LONG);
  init_shift_table(shift_short, CRC32C_SHORT);
#ifdef CRC32C_HAVE_X86
  __builtin_cpu_init();
  hw_available = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

static uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v); /* x86 only, so host order is little-endian */
  return v;
}

static uint32_t sw_run(uint32_t crc, const uint8_t *p, size_t len) {
  while (len && ((uintptr_t)p & 7)) {
    crc = sw_byte(crc, *p++);
    len--;
  }
  for (; len >= 8; len -= 8, p += 8) {
    uint32_t lo = (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) ^ crc;
    crc = sw_table[7][lo & 0xFF] ^ sw_table[6][(lo >> 8) & 0xFF] ^
          sw_table[5][(lo >> 16) & 0xFF] ^ sw_table[4][lo >> 24] ^
          sw_table[3][p[4]] ^ sw_table[2][p[5]] ^ sw_table[1][p[6]] ^
          sw_table[0][p[7]];
  }
  while (len--) crc = sw_byte(crc, *p++);
  return crc;
}

uint32_t crc32c_raw_sw(uint32_t seed, const void *buf, size_t len) {
  pthread_once(&init_once, init_all);
  return sw_run(seed, buf, len);
}

#ifdef CRC32C_HAVE_X86
__attribute__((target("sse4.2"))) static uint32_t
hw_serial(uint32_t crc, const uint8_t *p, size_t len) {
  uint64_t c = crc;
  for (; len >= 8; len -= 8, p += 8) c = _mm_crc32_u64(c, load64(p));
  crc = (uint32_t)c;
  for (; len; len--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

/* Consumes as many whole 3*stride runs as fit; returns the bytes used. */
__attribute__((target("sse4.2"))) static size_t
hw_three_way(uint32_t *crc, const uint8_t *p, size_t len, size_t stride,
             const uint32_t table[4][256]) {
  size_t used = 0;
  while (len - used >= 3 * stride) {
    const uint8_t *a = p + used, *b = a + stride, *c = b + stride;
    uint64_t ca = *crc, cb = 0, cc = 0;
    for (size_t i = 0; i < stride; i += 8) {
      ca = _mm_crc32_u64(ca, load64(a + i));
      cb = _mm_crc32_u64(cb, load64(b + i));
      cc = _mm_crc32_u64(cc, load64(c + i));
    }
    /* raw(s, A|B) == shift(raw(s, A), |B|) ^ raw(0, B) */
    uint32_t ab = shift(table, (uint32_t)ca) ^ (uint32_t)cb;
    *crc = shift(table, ab) ^ (uint32_t)cc;
    used += 3 * stride;
  }
  return used;
}

static uint32_t hw_run(uint32_t crc, const uint8_t *p, size_t len) {
  size_t head = (8 - ((uintptr_t)p & 7)) & 7;
  if (head > len) head = len;
  crc = hw_serial(crc, p, head);
  p += head;
  len -= head;
  size_t used = hw_three_way(&crc, p, len, CRC32C_LONG, shift_long);
  used += hw_three_way(&crc, p + used, len - used, CRC32C_SHORT, shift_short);
  return hw_serial(crc, p + used, len - used);
}
#endif

uint32_t crc32c_raw(uint32_t seed, const void *buf, size_t len) {
  pthread_once(&init_once, init_all);
#ifdef CRC32C_HAVE_X86
  if (hw_available) return hw_run(seed, buf, len);
#endif
  return sw_run(seed, buf, len);
}

int crc32c_hw_available(void) {
  pthread_once(&init_once, init_all);
  return hw_available;
}
