/* Unit tests for src/core: buffers, strings, map, hex digits, base64, ids, allocator fault
 * injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/map.h"

static void test_sbuf_to_buf(void **state) {
  sio__sbuf s = SIO__SBUF_INIT;
  assert_int_equal(sio__sbuf_appends(&s, "hello "), 0);
  assert_int_equal(sio__sbuf_printf(&s, "%d-%s", 42, "x"), 0);
  assert_int_equal(sio__sbuf_append_u64(&s, 18446744073709551615ULL), 0);
  assert_string_equal(s.data, "hello 42-x18446744073709551615");
  sio__buf *b = sio__sbuf_to_buf(&s);
  assert_non_null(b);
  assert_null(s.data);
  assert_int_equal(b->len, strlen("hello 42-x18446744073709551615"));
  assert_memory_equal(b->data, "hello 42-x", 10);
  sio__buf_ref(b);
  sio__buf_unref(b);
  sio__buf_unref(b);
}

static void test_sbuf_oom(void **state) {
  sio__sbuf s = SIO__SBUF_INIT;
  sio__alloc_fail_after(0);
  assert_int_not_equal(sio__sbuf_appends(&s, "x"), 0);
  sio__alloc_fail_reset();
  assert_int_not_equal(sio__sbuf_appends(&s, "x"), 0); /* sticky */
  assert_null(sio__sbuf_to_buf(&s));
}

static void test_map(void **state) {
  sio__map m = SIO__MAP_INIT;
  char key[32];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(sio__map_put(&m, key, (size_t)n, (void *)(intptr_t)(i + 1)), 0);
  }
  assert_int_equal(m.count, 1000);
  for (int i = 0; i < 1000; i += 2) {
    int n = snprintf(key, sizeof key, "k%d", i);
    assert_ptr_equal(sio__map_del(&m, key, (size_t)n), (void *)(intptr_t)(i + 1));
  }
  assert_int_equal(m.count, 500);
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "k%d", i);
    void *v = sio__map_get(&m, key, (size_t)n);
    if (i % 2)
      assert_ptr_equal(v, (void *)(intptr_t)(i + 1));
    else
      assert_null(v);
  }
  size_t it = 0, seen = 0;
  while (sio__map_next(&m, &it)) seen++;
  assert_int_equal(seen, 500);
  sio__map_free(&m);
}

/* Borrowed keys: no allocation, found like copied ones, and replacing an entry switches
 * between borrowed and copied keys without leaking. */
static void test_map_ref(void **state) {
  sio__map m = SIO__MAP_INIT;
  static char keys[300][8];
  for (int i = 0; i < 300; i++) {
    int n = snprintf(keys[i], sizeof keys[i], "id%d", i);
    assert_int_equal(sio__map_put_ref(&m, keys[i], (size_t)n, keys[i]), 0);
  }
  long live = sio__alloc_live();
  assert_int_equal(sio__map_put_ref(&m, "extra", 5, keys[0]), 0);
  assert_int_equal(sio__alloc_live(), live); /* no key copy */
  assert_ptr_equal(sio__map_get(&m, "id7", 3), keys[7]);
  char tmp[8] = "id8";
  assert_int_equal(sio__map_put(&m, tmp, 3, keys[1]), 0); /* now a copied key */
  tmp[0] = 'x';
  assert_ptr_equal(sio__map_get(&m, "id8", 3), keys[1]);
  assert_int_equal(sio__map_put_ref(&m, keys[8], 3, keys[8]), 0); /* borrowed again */
  assert_ptr_equal(sio__map_get(&m, "id8", 3), keys[8]);
  assert_ptr_equal(sio__map_del(&m, "id9", 3), keys[9]);
  assert_null(sio__map_get(&m, "id9", 3));
  size_t it = 0, seen = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&m, &it))) seen++;
  assert_int_equal(seen, 300);
  sio__map_free(&m);
}

static void test_base64(void **state) {
  char out[64];
  size_t n = sio__base64_encode(out, "\x01\x02\x03\x04", 4, 0);
  assert_int_equal(n, 8);
  assert_memory_equal(out, "AQIDBA==", 8);
  unsigned char dec[16];
  assert_int_equal(sio__base64_decode(dec, "AQIDBA==", 8), 4);
  assert_memory_equal(dec, "\x01\x02\x03\x04", 4);
  assert_int_equal(sio__base64_decode(dec, "AQID", 4), 3);
  assert_int_equal(sio__base64_decode(dec, "A*ID", 4), -1);
  assert_int_equal(sio__base64_decode(dec, "AQIDB", 5), -1);
  /* RFC 6455 section 1.3 handshake example */
  const char *key = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char sha[20];
  sio__sha1(key, strlen(key), sha);
  n = sio__base64_encode(out, sha, 20, 0);
  assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", n);
  /* every padding case (0..300 bytes) against OpenSSL */
  unsigned char msg[300], want[20];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)(i * 7 + 3);
  for (size_t len = 0; len <= sizeof msg; len++) {
    sio__sha1(msg, len, sha);
    SHA1(msg, len, want);
    assert_memory_equal(sha, want, 20);
  }
}

static void test_random_id(void **state) {
  char a[32], b[32];
  assert_int_equal(sio__random_id(a, 15), 0);
  assert_int_equal(sio__random_id(b, 15), 0);
  assert_int_equal(strlen(a), 20);
  assert_string_not_equal(a, b);
}

/* The hex helpers every layer uses (HTTP chunk sizes, percent-decoding, JSON \u escapes). */
static void test_hex(void **state) {
  for (int c = 0; c < 256; c++) {
    int want = c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    assert_int_equal(sio__hex_value((unsigned char)c), want);
  }
  assert_int_equal(sio__hex4("0000"), 0);
  assert_int_equal(sio__hex4("00e9"), 0xe9);
  assert_int_equal(sio__hex4("D83D"), 0xd83d);
  assert_int_equal(sio__hex4("ffFF"), 0xffff);
  assert_int_equal(sio__hex4("12345"), 0x1234); /* four digits, no more */
  assert_int_equal(SIO__HEX_DIGITS[0xa], 'a');
  assert_int_equal(SIO__HEX_DIGITS[15], 'f');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hex),      cmocka_unit_test(test_sbuf_to_buf),
      cmocka_unit_test(test_sbuf_oom), cmocka_unit_test(test_map),
      cmocka_unit_test(test_base64),   cmocka_unit_test(test_random_id),
      cmocka_unit_test(test_map_ref),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
