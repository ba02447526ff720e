/* msgpack-c (Debian libmsgpack-dev, linked to this test only) as an independent oracle for
 * src/cluster/msgpack: wherever notepack's rules and msgpack-c's packer agree (integers that
 * JS numbers hold exactly, the str/bin/array/map headers by length) the bytes must be the same;
 * msgpack-c must read all of what we write, and we must read what msgpack-c writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/mp_json.h"
#include "core/alloc.h"

typedef struct oracle {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} oracle;

static void oracle_init(oracle *o) {
  msgpack_sbuffer_init(&o->sb);
  msgpack_packer_init(&o->pk, &o->sb, msgpack_sbuffer_write);
}

static void same_bytes(oracle *o, sio__sbuf *ours, const char *what, long long v) {
  if (ours->len != o->sb.size || memcmp(ours->data, o->sb.data, ours->len))
    fail_msg("%s %lld: msgpack-c and sio differ", what, v);
  msgpack_sbuffer_destroy(&o->sb);
  sio__sbuf_free(ours);
}

static void same_int(int64_t v) {
  oracle o;
  sio__sbuf b = SIO__SBUF_INIT;
  oracle_init(&o);
  msgpack_pack_int64(&o.pk, v);
  assert_int_equal(sio__mp_put_number(&b, (double)v), 0);
  same_bytes(&o, &b, "integer", (long long)v);
}

static void test_integers_agree(void **state) {
  for (int64_t v = -70000; v <= 70000; v++) same_int(v);
  const int64_t edges[] = {
      INT32_MIN,          (int64_t)INT32_MIN - 1, INT32_MAX,     (int64_t)INT32_MAX + 1,
      4294967295LL,       4294967296LL,           -4294967297LL, 9007199254740991LL,
      -9007199254740991LL};
  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) same_int(edges[i]);
  uint64_t x = 88172645463325252ull; /* xorshift: values of every magnitude below 2^53 */
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int64_t v = (int64_t)(x >> (11 + x % 53));
    same_int(x & 1 ? -v : v);
  }
}

static void test_headers_agree(void **state) {
  const size_t lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000};
  char *zeros = calloc(1, 70000);
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    size_t n = lens[i];
    oracle o;
    sio__sbuf b = SIO__SBUF_INIT;
    oracle_init(&o);
    msgpack_pack_str(&o.pk, n), msgpack_pack_str_body(&o.pk, zeros, n);
    msgpack_pack_bin(&o.pk, n), msgpack_pack_bin_body(&o.pk, zeros, n);
    msgpack_pack_array(&o.pk, n), msgpack_pack_map(&o.pk, n);
    sio__mp_put_str(&b, zeros, n), sio__mp_put_bin(&b, zeros, n);
    sio__mp_put_array(&b, n), sio__mp_put_map(&b, n);
    same_bytes(&o, &b, "length", (long long)n);
  }
  free(zeros);
}

static void test_msgpack_c_reads_ours(void **state) {
  const char *texts[] = {
      "[\"ev\",1,{\"a\":[true,null,-1.5,\"\\u00e9\"]},\"\\ud800\",1e21,0.1,-0]",
      "{\"rooms\":[\"a\"],\"except\":[],\"flags\":{\"volatile\":true,\"timeout\":5000}}",
      "[[[[[]]]],{\"\":{}},\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    sio__sbuf b = SIO__SBUF_INIT;
    size_t off = 0;
    msgpack_unpacked u;
    assert_int_equal(sio__mp_from_json(&b, texts[i], strlen(texts[i]), NULL, 0), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, b.data, b.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b.len);
    msgpack_unpacked_destroy(&u);
    sio__sbuf_free(&b);
  }
}

static void test_we_read_msgpack_c(void **state) {
  oracle o;
  oracle_init(&o);
  msgpack_pack_array(&o.pk, 8);
  msgpack_pack_str(&o.pk, 3), msgpack_pack_str_body(&o.pk, "abc", 3);
  msgpack_pack_bin(&o.pk, 2), msgpack_pack_bin_body(&o.pk, "\x01\x02", 2);
  msgpack_pack_float(&o.pk, 0.25f);
  msgpack_pack_double(&o.pk, 1e300);
  msgpack_pack_map(&o.pk, 1), msgpack_pack_int(&o.pk, 5), msgpack_pack_nil(&o.pk);
  msgpack_pack_ext(&o.pk, 1, 5), msgpack_pack_ext_body(&o.pk, "\x00", 1);
  msgpack_pack_uint64(&o.pk, UINT64_MAX);
  msgpack_pack_true(&o.pk);
  sio__sbuf j = SIO__SBUF_INIT;
  assert_int_equal(sio__mp_to_json(&j, o.sb.data, o.sb.size, NULL, 0), 0);
  assert_string_equal(j.data,
                      "[\"abc\",{\"type\":\"Buffer\",\"data\":[1,2]},0.25,1e+300,{\"5\":null},"
                      "[5,{\"type\":\"Buffer\",\"data\":[0]}],18446744073709552000,true]");
  sio__sbuf_free(&j);
  msgpack_sbuffer_destroy(&o.sb);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers_agree),
      cmocka_unit_test(test_headers_agree),
      cmocka_unit_test(test_msgpack_c_reads_ours),
      cmocka_unit_test(test_we_read_msgpack_c),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
