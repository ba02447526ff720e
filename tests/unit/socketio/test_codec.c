/* Unit tests for src/socketio/codec: Socket.IO v5 packets, byte-exact vectors from the protocol
 * description, every malformed form, binary reconstruction with placeholders, and the encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/codec.h"

static sio__sio_packet dec(const char *s) {
  sio__sio_packet p;
  if (sio__sio_decode(s, strlen(s), NULL, &p)) fail_msg("should decode: %s", s);
  return p;
}

static void expect_nsp(const sio__sio_packet *p, const char *nsp) {
  assert_int_equal(p->nsp_len, strlen(nsp));
  assert_memory_equal(p->nsp, nsp, p->nsp_len);
}

static void expect_data(const sio__sio_packet *p, const char *data) {
  if (!data) {
    assert_null(p->data);
    return;
  }
  assert_non_null(p->data);
  assert_int_equal(p->data_len, strlen(data));
  assert_memory_equal(p->data, data, p->data_len);
}

static void test_decode_vectors(void **state) {
  sio__sio_packet p = dec("0");
  assert_int_equal(p.type, SIO__SIO_CONNECT);
  expect_nsp(&p, "/");
  expect_data(&p, NULL);
  assert_true(p.id == SIO__SIO_NO_ID);

  p = dec("0{\"token\":\"123\"}");
  expect_data(&p, "{\"token\":\"123\"}");
  assert_int_equal(p.data_type, SIO__JSON_OBJECT);

  p = dec("0/admin,");
  expect_nsp(&p, "/admin");
  expect_data(&p, NULL);
  p = dec("0/custom");
  expect_nsp(&p, "/custom");
  expect_data(&p, NULL);
  p = dec("0/admin,{\"token\":\"123\"}");
  expect_nsp(&p, "/admin");
  expect_data(&p, "{\"token\":\"123\"}");

  p = dec("1");
  assert_int_equal(p.type, SIO__SIO_DISCONNECT);
  p = dec("1/admin,");
  expect_nsp(&p, "/admin");

  p = dec("2[\"foo\"]");
  assert_int_equal(p.type, SIO__SIO_EVENT);
  expect_data(&p, "[\"foo\"]");
  p = dec("2/admin,[\"bar\"]");
  expect_nsp(&p, "/admin");
  p = dec("212[\"foo\"]");
  assert_true(p.id == 12);
  expect_data(&p, "[\"foo\"]");
  p = dec("2/admin,13[\"bar\"]");
  assert_true(p.id == 13);
  p = dec("2[\"message\",1,\"2\",{\"3\":[true]}]");
  expect_data(&p, "[\"message\",1,\"2\",{\"3\":[true]}]");
  p = dec("2[42,\"x\"]"); /* numeric event names are accepted */
  p = dec("2[\"a\\u0000\",1e20,0.1,\"\\ud800\",12345678901234567890]");
  expect_data(&p, "[\"a\\u0000\",1e20,0.1,\"\\ud800\",12345678901234567890]");

  p = dec("3/admin,13[]");
  assert_int_equal(p.type, SIO__SIO_ACK);
  assert_true(p.id == 13);
  expect_data(&p, "[]");
  p = dec("3456[1,\"2\",{\"3\":[false]}]");
  assert_true(p.id == 456);

  p = dec("4{\"message\":\"Not authorized\"}");
  assert_int_equal(p.type, SIO__SIO_CONNECT_ERROR);
  p = dec("4/admin,\"error\"");
  assert_int_equal(p.data_type, SIO__JSON_STRING);

  p = dec("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]");
  assert_int_equal(p.type, SIO__SIO_BINARY_EVENT);
  assert_int_equal(p.attachments, 1);
  p = dec("51-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0}]");
  expect_nsp(&p, "/admin");
  p = dec("52-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,"
          "\"num\":1}]");
  assert_int_equal(p.attachments, 2);
  assert_true(p.id == 789);
  p = dec("61-/admin,15[{\"_placeholder\":true,\"num\":0}]");
  assert_int_equal(p.type, SIO__SIO_BINARY_ACK);
  assert_true(p.id == 15);
  p = dec("50-[\"x\"]");
  assert_int_equal(p.attachments, 0);

  p = dec("2 [\"ws\"] "); /* whitespace around the JSON is JSON */
  expect_data(&p, "[\"ws\"]");
}

static void test_decode_malformed(void **state) {
  const char *bad[] = {
      "",
      "7",
      "a",
      "abc",
      "4abc",
      "42",
      "2",
      "3",
      "2{}",
      "2[]",
      "2\"x\"",
      "2[1",
      "2[\"a\",]",
      "2[{}]",
      "2[null]",
      "2[true]",
      "2[[\"x\"]]",
      "2[\"connect\"]",
      "2[\"disconnect\",1]",
      "2[\"connect_error\"]",
      "2[\"disconnecting\"]",
      "2[\"newListener\"]",
      "2[\"removeListener\"]",
      "2[\"disconnec\\u0074\"]",
      "2abc[\"x\"]",
      "2/nsp,abc",
      "0[]",
      "0\"x\"",
      "01",
      "0/admin,[1]",
      "1{}",
      "1[]",
      "1/a,\"x\"",
      "3{}",
      "3\"x\"",
      "4[]",
      "41",
      "4",
      "5[\"x\"]",
      "5-[\"x\"]",
      "5x-[\"x\"]",
      "51[\"x\"]",
      "511-[\"x\"]",
      "599999999999999999999-[\"x\"]",
      "51-",
      "51-{}",
      "6[1]",
      "61-{}",
      "29007199254740992[\"x\"]",
      "2123456789012345678901[\"x\"]",
      "01{}",
      "112",
      "4/a,1{}",
      "2[\"x\"] x",
      "2[\"\x80\"]",
      "2[\"x\"\x00]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sio__sio_packet p;
    if (sio__sio_decode(bad[i], strlen(bad[i]), NULL, &p) == 0)
      fail_msg("should be refused: %s", bad[i]);
  }
  sio__sio_packet p;
  assert_int_equal(sio__sio_decode("29007199254740991[\"x\"]", 22, NULL, &p), 0);
  assert_true(p.id == 9007199254740991ULL);
  /* depth and attachment limits */
  sio__sio_limits lim = {.max_depth = 2, .max_attachments = 3};
  assert_int_equal(sio__sio_decode("2[\"x\",[1]]", 10, &lim, &p), 0);
  assert_int_equal(sio__sio_decode("2[\"x\",[[1]]]", 12, &lim, &p), -EINVAL);
  assert_int_equal(sio__sio_decode("53-[\"x\"]", 8, &lim, &p), 0);
  assert_int_equal(sio__sio_decode("54-[\"x\"]", 8, &lim, &p), -EINVAL);
}

/* The decoder keeps the payload's element slices (relative to data) with their canon flags. */
static void test_decode_elements(void **state) {
  sio__sio_packet p = dec("2 [\"ev\", 1 ,\"x\\u0041\",{\"a\":1},1.5]");
  assert_int_equal(p.nelem, 5);
  const char *want[] = {"\"ev\"", "1", "\"x\\u0041\"", "{\"a\":1}", "1.5"};
  const int canon[] = {1, 1, 0, 1, 0};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(p.elem[i].len, strlen(want[i]));
    assert_memory_equal(p.data + p.elem[i].off, want[i], p.elem[i].len);
    assert_int_equal(p.elem[i].canon, canon[i]);
  }
  p = dec("2[\"e\",1,2,3,4,5,6,7,8,9]"); /* more than the decoder keeps: counted */
  assert_int_equal(p.nelem, 10);
  assert_memory_equal(p.data + p.elem[7].off, "7", 1);
  p = dec("2[\"connect_\"]"); /* close to a reserved name */
  assert_int_equal(p.nelem, 1);
  sio__sio_packet q;
  const char *reserved[] = {"2[\"disconnect\"]", "2[\"disc\\u006fnnect\"]", "2[]",
                            "2[\"newListener\",1]"};
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    assert_int_equal(sio__sio_decode(reserved[i], strlen(reserved[i]), NULL, &q), -EINVAL);
  assert_int_equal(sio__sio_decode("2[\"disconnect \"]", 16, NULL, &q), 0);
}

static void test_placeholders(void **state) {
  const char *j =
      "[\"m\",{\"_placeholder\":true,\"num\":0},{\"a\":[{\"num\":1,\"_placeholder\":true}]},"
      "{\"_placeholder\":false,\"num\":9},{\"num\":0}]";
  sio__sio_placeholder ph[4];
  size_t count;
  assert_int_equal(sio__sio_find_placeholders(j, strlen(j), 2, ph, 4, &count), 0);
  assert_int_equal(count, 2);
  assert_int_equal(ph[0].num, 0);
  assert_memory_equal(j + ph[0].off, "{\"_placeholder\":true,\"num\":0}", ph[0].len);
  assert_int_equal(ph[1].num, 1);
  assert_memory_equal(j + ph[1].off, "{\"num\":1,\"_placeholder\":true}", ph[1].len);
  /* num out of range, negative, fractional, missing, not a number */
  assert_int_equal(sio__sio_find_placeholders(j, strlen(j), 1, ph, 4, &count), -EINVAL);
  const char *bad[] = {
      "[{\"_placeholder\":true,\"num\":-1}]",
      "[{\"_placeholder\":true,\"num\":0.5}]",
      "[{\"_placeholder\":true}]",
      "[{\"_placeholder\":true,\"num\":\"0\"}]",
      "[{\"_placeholder\":true,\"num\":1e0}]",
      "[{\"x\":{\"_placeholder\":true,\"num\":5}}]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(sio__sio_find_placeholders(bad[i], strlen(bad[i]), 2, ph, 4, &count), -EINVAL);
}

static void test_reassembly(void **state) {
  const char *t = "52-/custom,789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},"
                  "{\"_placeholder\":true,\"num\":1}]";
  sio__sio_reassembly r;
  assert_int_equal(sio__sio_reassembly_start(&r, t, strlen(t), NULL), 0);
  assert_true(sio__sio_reassembly_active(&r));
  assert_false(sio__sio_reassembly_complete(&r));
  expect_nsp(&r.packet, "/custom");
  assert_true(r.packet.id == 789);
  assert_int_equal(sio__sio_reassembly_add(&r, "\x01\x02\x03", 3), 0);
  assert_int_equal(sio__sio_reassembly_add(&r, "\x04\x05\x06", 3), 1);
  assert_true(sio__sio_reassembly_complete(&r));
  assert_memory_equal(r.bufs[1]->data, "\x04\x05\x06", 3);
  assert_int_equal(sio__sio_reassembly_add(&r, "x", 1), -EINVAL); /* one too many */
  sio__sio_reassembly_free(&r);
  assert_false(sio__sio_reassembly_active(&r));

  /* a placeholder pointing past the announced attachments */
  const char *b = "51-[\"x\",{\"_placeholder\":true,\"num\":1}]";
  assert_int_equal(sio__sio_reassembly_start(&r, b, strlen(b), NULL), -EINVAL);
  /* not a binary packet */
  assert_int_equal(sio__sio_reassembly_start(&r, "2[\"x\"]", 6, NULL), -EINVAL);
  /* zero attachments: complete at once */
  assert_int_equal(sio__sio_reassembly_start(&r, "50-[\"x\"]", 8, NULL), 0);
  assert_true(sio__sio_reassembly_complete(&r));
  sio__sio_reassembly_free(&r);

  for (long k = 0; k < 6; k++) {
    sio__alloc_fail_after(k);
    if (sio__sio_reassembly_start(&r, t, strlen(t), NULL) == 0) {
      sio__sio_reassembly_add(&r, "a", 1);
      sio__sio_reassembly_add(&r, "b", 1);
      sio__sio_reassembly_free(&r);
    }
    sio__alloc_fail_reset();
  }
  assert_int_equal(sio__alloc_live(), 0);
}

static void expect_sbuf(sio__sbuf *b, const char *want) {
  if (b->len != strlen(want) || memcmp(b->data, want, b->len))
    fail_msg("got %.*s want %s", (int)b->len, b->data, want);
  sio__sbuf_reset(b);
}

static void test_encode(void **state) {
  sio__sbuf b = SIO__SBUF_INIT;
  const char *args[] = {"1", "\"2\"", "{\"3\":[true]}"};
  size_t lens[] = {1, 3, 12};
  assert_int_equal(sio__sio_encode_array(&b, 0, SIO__SIO_EVENT, 0, "/", 1, SIO__SIO_NO_ID,
                                         "message-back", 12, args, lens, 3),
                   0);
  expect_sbuf(&b, "2[\"message-back\",1,\"2\",{\"3\":[true]}]");
  assert_int_equal(sio__sio_encode_array(&b, SIO__SIO_ENC_EIO, SIO__SIO_ACK, 0, NULL, 0, 456, NULL,
                                         0, args, lens, 3),
                   0);
  expect_sbuf(&b, "43456[1,\"2\",{\"3\":[true]}]");
  const char *ph[] = {"{\"_placeholder\":true,\"num\":0}", "{\"_placeholder\":true,\"num\":1}"};
  size_t phl[] = {strlen(ph[0]), strlen(ph[1])};
  assert_int_equal(
      sio__sio_encode_array(&b, 0, SIO__SIO_BINARY_ACK, 2, "/", 1, 789, NULL, 0, ph, phl, 2), 0);
  expect_sbuf(&b, "62-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
  assert_int_equal(sio__sio_encode_array(&b, 0, SIO__SIO_BINARY_EVENT, 1, "/custom", 7,
                                         SIO__SIO_NO_ID, "a\"b", 3, ph, phl, 1),
                   0);
  expect_sbuf(&b, "51-/custom,[\"a\\\"b\",{\"_placeholder\":true,\"num\":0}]");
  assert_int_equal(
      sio__sio_encode_array(&b, 0, SIO__SIO_EVENT, 0, "/custom", 7, 12, "auth", 4, NULL, NULL, 0),
      0);
  expect_sbuf(&b, "2/custom,12[\"auth\"]");
  assert_int_equal(
      sio__sio_encode_array(&b, 0, SIO__SIO_ACK, 0, NULL, 0, 0, NULL, 0, NULL, NULL, 0), 0);
  expect_sbuf(&b, "30[]");

  assert_int_equal(sio__sio_encode_raw(&b, 0, SIO__SIO_CONNECT, "/", 1, "{\"sid\":\"x\"}", 11), 0);
  expect_sbuf(&b, "0{\"sid\":\"x\"}");
  assert_int_equal(sio__sio_encode_raw(&b, SIO__SIO_ENC_EIO, SIO__SIO_CONNECT_ERROR, "/random", 7,
                                       "{\"message\":\"Invalid namespace\"}", 31),
                   0);
  expect_sbuf(&b, "44/random,{\"message\":\"Invalid namespace\"}");
  assert_int_equal(sio__sio_encode_raw(&b, 0, SIO__SIO_DISCONNECT, "/custom", 7, NULL, 0), 0);
  expect_sbuf(&b, "1/custom,");
  assert_int_equal(sio__sio_encode_placeholder(&b, 3), 0);
  expect_sbuf(&b, "{\"_placeholder\":true,\"num\":3}");
  sio__sbuf_free(&b);

  sio__buf *sb = sio__sio_encode_array_buf(SIO__SIO_ENC_EIO, SIO__SIO_EVENT, 0, "/", 1,
                                           SIO__SIO_NO_ID, "bcast", 5, args, lens, 1);
  assert_non_null(sb);
  assert_int_equal(sb->len, 13);
  assert_memory_equal(sb->data, "42[\"bcast\",1]", 13);
  sio__buf_unref(sb);

  /* encoded packets decode back to the same parts */
  sio__sio_packet p;
  sio__sio_encode_array(&b, 0, SIO__SIO_BINARY_EVENT, 2, "/x", 2, 7, "ev", 2, ph, phl, 2);
  assert_int_equal(sio__sio_decode(b.data, b.len, NULL, &p), 0);
  assert_int_equal(p.attachments, 2);
  assert_true(p.id == 7);
  expect_nsp(&p, "/x");
  sio__sbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_vectors),  cmocka_unit_test(test_decode_malformed),
      cmocka_unit_test(test_decode_elements), cmocka_unit_test(test_placeholders),
      cmocka_unit_test(test_reassembly),      cmocka_unit_test(test_encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
