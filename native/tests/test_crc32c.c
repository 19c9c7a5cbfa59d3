/* Raw CRC32C (spec §0.1): the published vectors and hardware == software. */
#include <stdint.h>

#include "check.h"
#include "crc32c.h"

static const char digits[] = "123456789";

static void vectors_seed_zero(void) {
  CHECK_EQ_U64(crc32c_raw(0, digits, 9), 0x58E3FA20u);
  CHECK_EQ_U64(crc32c_raw_sw(0, digits, 9), 0x58E3FA20u);
}

static void vectors_standard_form(void) {
  CHECK_EQ_U64(~crc32c_raw(0xFFFFFFFFu, digits, 9), 0xE3069283u);
  CHECK_EQ_U64(~crc32c_raw_sw(0xFFFFFFFFu, digits, 9), 0xE3069283u);
}

static void vectors_block_seed(void) {
  CHECK_EQ_U64(crc32c_raw(CRC32C_BLOCK_SEED, digits, 9), 0x3C9BD4E0u);
  CHECK_EQ_U64(crc32c_raw_sw(CRC32C_BLOCK_SEED, digits, 9), 0x3C9BD4E0u);
}

static void zeros_stay_zero(void) {
  static uint8_t zeros[100000];
  size_t lens[] = {0, 1, 7, 8, 255, 768, 4096, 24576, 24577, 100000};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    CHECK_EQ_U64(crc32c_raw(0, zeros, lens[i]), 0);
    CHECK_EQ_U64(crc32c_raw_sw(0, zeros, lens[i]), 0);
  }
}

/* Bit-at-a-time reference straight from the §0.1 definition. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n) {
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return crc;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)rng_state;
}

/* Lengths around both interleave strides (3*256, 3*8192) and alignments 0..7
 * exercise every path of the hardware code. */
static void hw_matches_sw_and_reference(void) {
  enum { MAX = 3 * 8192 * 2 + 1000 };
  static uint8_t buf[MAX + 8];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rnd();
  size_t lens[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 63, 255, 256, 767, 768, 769,
                   1000, 2303, 2304, 4096, 4100, 24575, 24576, 24577, 30000,
                   49152, 49153, MAX};
  for (size_t a = 0; a < 8; a++)
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
      uint32_t seed = rnd();
      uint32_t want = crc_bitwise(seed, buf + a, lens[i]);
      CHECK_EQ_U64(crc32c_raw_sw(seed, buf + a, lens[i]), want);
      CHECK_EQ_U64(crc32c_raw(seed, buf + a, lens[i]), want);
    }
  for (int t = 0; t < 2000; t++) {
    size_t a = rnd() % 8, n = rnd() % (MAX - 8);
    uint32_t seed = rnd();
    CHECK_EQ_U64(crc32c_raw(seed, buf + a, n), crc32c_raw_sw(seed, buf + a, n));
  }
}

/* raw(s, A|B) == raw(raw(s, A), B): callers may checksum in pieces. */
static void chaining_equals_one_pass(void) {
  static uint8_t buf[10000];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rnd();
  uint32_t whole = crc32c_raw(7, buf, sizeof buf);
  for (size_t cut = 0; cut <= sizeof buf; cut += 333)
    CHECK_EQ_U64(crc32c_raw(crc32c_raw(7, buf, cut), buf + cut, sizeof buf - cut), whole);
}

static void reports_hw(void) {
  int hw = crc32c_hw_available();
  CHECK(hw == 0 || hw == 1);
  printf("  (sse4.2 path %s)\n", hw ? "in use" : "unavailable");
}

int main(void) {
  static const check_case cases[] = {
      {"crc32c_raw() gives 0x58E3FA20 for 123456789 with seed 0", vectors_seed_zero},
      {"crc32c_raw() complemented gives standard CRC-32C", vectors_standard_form},
      {"crc32c_raw() with the block seed gives 0x3C9BD4E0", vectors_block_seed},
      {"crc32c_raw() of zero bytes from seed 0 is 0", zeros_stay_zero},
      {"crc32c_raw() matches sw and bitwise at all lengths/alignments", hw_matches_sw_and_reference},
      {"crc32c_raw() chains across split buffers", chaining_equals_one_pass},
      {"crc32c_hw_available() reports 0 or 1", reports_hw},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
