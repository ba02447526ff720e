/* Incremental UTF-8 validation (RFC 3629, Unicode table 3-7) for WebSocket text messages.
 *
 * A DFA over byte classes: the state says how many continuation bytes are still due and, for
 * the second byte after E0, ED, F0 and F4, which narrower range is allowed (this rules out
 * overlongs, surrogates and code points past U+10FFFF at the first byte that proves them
 * wrong). The state is kept between fragments, so a sequence split at any byte is accepted
 * and a text fails at its first bad byte. Runs of ASCII are skipped eight bytes at a time. */
#include <string.h>

#include "ws/codec.h"

/* Byte classes. */
enum {
  C_ASCII,
  C_80_8F,
  C_90_9F,
  C_A0_BF,
  C_BAD,
  C_LEAD2,
  C_E0,
  C_E1_EF,
  C_ED,
  C_F0,
  C_F1_F3,
  C_F4
};

/* States: 0 accept; 1/2/3 need that many continuation bytes (80..BF); 4 after E0 (A0..BF);
 * 5 after ED (80..9F); 6 after F0 (90..BF); 7 after F4 (80..8F); 8 reject. */
#define R SIO__UTF8_REJECT
static const uint8_t next_state[9][12] = {
    /*        ASC 80 90 A0 BAD L2 E0 E1 ED F0 F1 F4 */
    /* 0 */ {0, R, R, R, R, 1, 4, 2, 5, 6, 3, 7},
    /* 1 */ {R, 0, 0, 0, R, R, R, R, R, R, R, R},
    /* 2 */ {R, 1, 1, 1, R, R, R, R, R, R, R, R},
    /* 3 */ {R, 2, 2, 2, R, R, R, R, R, R, R, R},
    /* 4 */ {R, R, R, 1, R, R, R, R, R, R, R, R},
    /* 5 */ {R, 1, 1, R, R, R, R, R, R, R, R, R},
    /* 6 */ {R, R, 2, 2, R, R, R, R, R, R, R, R},
    /* 7 */ {R, 2, R, R, R, R, R, R, R, R, R, R},
    /* 8 */ {R, R, R, R, R, R, R, R, R, R, R, R},
};
#undef R

static uint8_t byte_class(uint8_t b) {
  if (b < 0x80) return C_ASCII;
  if (b < 0x90) return C_80_8F;
  if (b < 0xA0) return C_90_9F;
  if (b < 0xC0) return C_A0_BF;
  if (b < 0xC2) return C_BAD;
  if (b < 0xE0) return C_LEAD2;
  if (b == 0xE0) return C_E0;
  if (b == 0xED) return C_ED;
  if (b < 0xF0) return C_E1_EF;
  if (b == 0xF0) return C_F0;
  if (b < 0xF4) return C_F1_F3;
  if (b == 0xF4) return C_F4;
  return C_BAD;
}

uint32_t sio__utf8_step(uint32_t state, const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (state == SIO__UTF8_ACCEPT) {
      /* skip ASCII a word at a time */
      while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL) break;
        i += 8;
      }
      while (i < n && s[i] < 0x80) i++;
      if (i == n) break;
    }
    state = next_state[state][byte_class(s[i])];
    if (state == SIO__UTF8_REJECT) return state;
    i++;
  }
  return state;
}
