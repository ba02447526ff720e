/* Unit tests for the Socket.IO layer's argument handling: the JSON.stringify-compatible
 * canonical writer, the sio_args view (types, strings, numbers, placeholders) and sio_msg
 * building (raw, pack format, jansson, binary, pass-through). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/alloc.h"
#include "socketio/io_internal.h"

static void canon_is(const char *in, const char *want) {
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__json_slice sl;
  assert_int_equal(sio__json_validate(in, strlen(in), 0, &sl), 0);
  assert_int_equal(sio__json_canon(&sb, in + sl.off, sl.len), 0);
  assert_int_equal(sio__sbuf_appendc(&sb, 0), 0);
  assert_string_equal(sb.data, want);
  sio__sbuf_free(&sb);
}

static void test_canon(void **state) {
  canon_is("\"plain\"", "\"plain\"");
  canon_is("[ 1 , 2 ]", "[1,2]");
  canon_is("{\"z\":1, \"a\" : [ 1 , {\"y\":null,\"b\":\"x\"} ] , \"m\":{}}",
           "{\"z\":1,\"a\":[1,{\"y\":null,\"b\":\"x\"}],\"m\":{}}");
  canon_is("1e20", "100000000000000000000");
  canon_is("1e21", "1e+21");
  canon_is("1.5E3", "1500");
  canon_is("1E-7", "1e-7");
  canon_is("0.000001", "0.000001");
  canon_is("0.1", "0.1");
  canon_is("-0", "0");
  canon_is("-0.0", "0");
  canon_is("123456789012345678901234", "1.2345678901234569e+23");
  canon_is("12345678901234567890", "12345678901234567000");
  canon_is("1.10", "1.1");
  canon_is("1e400", "null");
  canon_is("\"\\u0000\"", "\"\\u0000\"");
  canon_is("\"\\u001F\"", "\"\\u001f\"");
  canon_is("\"\\ud800\"", "\"\\ud800\"");
  canon_is("\"\\uDC00x\"", "\"\\udc00x\"");
  canon_is("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
  canon_is("\"\\/\"", "\"/\"");
  canon_is("\"\\u00e9\"", "\"\xc3\xa9\"");
  canon_is("\"\\u0022\\u005c\"", "\"\\\"\\\\\"");
  canon_is("\"a\\\"b\\\\c\\n\"", "\"a\\\"b\\\\c\\n\"");
  canon_is("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
  canon_is("[true,false,null]", "[true,false,null]");
}

/* The scanner's canon flag: set only when the canonical writer would copy the value as is. */
static void canon_flag_is(const char *in, int want) {
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__json_slice sl;
  assert_int_equal(sio__json_validate(in, strlen(in), 0, &sl), 0);
  assert_int_equal(sio__json_canon(&sb, in + sl.off, sl.len), 0);
  int same = sb.len == sl.len && memcmp(sb.data, in + sl.off, sl.len) == 0;
  if (sl.canon != want || (sl.canon && !same)) fail_msg("canon flag of %s: %d", in, sl.canon);
  sio__sbuf_free(&sb);
  /* the same through the splitting validator, as one element */
  sio__sbuf arr = SIO__SBUF_INIT;
  sio__json_slice whole, el[2];
  size_t count;
  sio__sbuf_printf(&arr, "[%.*s,1]", (int)sl.len, in + sl.off);
  assert_int_equal(sio__json_validate_split(arr.data, arr.len, 0, &whole, el, 2, &count), 0);
  assert_int_equal(count, 2);
  assert_int_equal(el[0].canon, want);
  assert_int_equal(el[0].len, sl.len);
  assert_int_equal(whole.canon, want);
  sio__sbuf_free(&arr);
}

static void test_canon_flag(void **state) {
  canon_flag_is("\"plain\"", 1);
  canon_flag_is(" \"plain\" ", 1); /* whitespace around the value is not part of it */
  canon_flag_is("\"a\\\"b\\\\c\\n\\t\\b\\f\\r\"", 1);
  canon_flag_is("\"\xc3\xa9\"", 1);
  canon_flag_is("\"\\u0000\"", 0);
  canon_flag_is("\"\\/\"", 0);
  canon_flag_is("[1,2]", 1);
  canon_flag_is("[1, 2]", 0);
  canon_flag_is("[ ]", 0);
  canon_flag_is("[]", 1);
  canon_flag_is("{}", 1);
  canon_flag_is("{\"a\":1,\"b\":[true,false,null]}", 1);
  canon_flag_is("{\"a\":1,\"a\":2}", 0);
  canon_flag_is("{\"a\":{\"x\":1,\"x\":1}}", 0);
  canon_flag_is("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8}", 1);
  canon_flag_is("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}", 0);
  canon_flag_is("{\"a\" :1}", 0);
  canon_flag_is("0", 1);
  canon_flag_is("-1", 1);
  canon_flag_is("-0", 0);
  canon_flag_is("0.5", 0);
  canon_flag_is("1e2", 0);
  canon_flag_is("123456789012345", 1);
  canon_flag_is("1234567890123456", 0);
  canon_flag_is("-123456789012345", 1);
  canon_flag_is("true", 1);
  /* whitespace between the top-level elements counts for the whole array */
  const char *ws[] = {"[1,2 ]", "[1 ,2]", "[1, 2]", "[ 1,2]"};
  for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) {
    sio__json_slice whole, el[2];
    size_t count;
    assert_int_equal(sio__json_validate_split(ws[i], strlen(ws[i]), 0, &whole, el, 2, &count), 0);
    assert_int_equal(whole.canon, 0);
    assert_int_equal(el[0].canon && el[1].canon, 1);
  }
}

static void test_args_view(void **state) {
  const char *json = "[\"ev\",1,\"t\\u00e9\",{\"_placeholder\":true,\"num\":0},[1],{\"k\":true},"
                     "null,true,9007199254740993,0.5]";
  sio__buf *att = sio__buf_from("\x01\x02", 2);
  sio__buf *atts[] = {att};
  sio_args a;
  assert_int_equal(sio__args_init(&a, json, strlen(json), 1, atts, 1, 1, 0), 0);
  assert_int_equal(sio_args_count(&a), 9);
  assert_int_equal(sio_args_type(&a, 0), SIO_T_NUMBER);
  assert_int_equal(sio_args_type(&a, 1), SIO_T_STRING);
  assert_int_equal(sio_args_type(&a, 2), SIO_T_BINARY);
  assert_int_equal(sio_args_type(&a, 3), SIO_T_ARRAY);
  assert_int_equal(sio_args_type(&a, 4), SIO_T_OBJECT);
  assert_int_equal(sio_args_type(&a, 5), SIO_T_NULL);
  assert_int_equal(sio_args_type(&a, 6), SIO_T_BOOL);
  assert_int_equal(sio_args_type(&a, 9), SIO_T_NONE);
  size_t len;
  assert_string_equal(sio_args_str(&a, 1, &len), "t\xc3\xa9");
  assert_int_equal(len, 3);
  assert_null(sio_args_str(&a, 0, NULL));
  int64_t v;
  assert_int_equal(sio_args_int(&a, 0, &v), 0);
  assert_int_equal(v, 1);
  assert_true(sio_args_num(&a, 8) == 0.5);
  assert_true(sio_args_bool(&a, 6));
  const void *d;
  assert_int_equal(sio_args_bin(&a, 2, &d, &len), 0);
  assert_int_equal(len, 2);
  assert_memory_equal(d, "\x01\x02", 2);
  assert_int_not_equal(sio_args_bin(&a, 1, &d, &len), 0);
  const char *raw = sio_args_json(&a, 7, &len);
  assert_int_equal(len, 16);
  assert_memory_equal(raw, "9007199254740993", 16);
  const char *all = sio_args_json_all(&a, &len);
  assert_true(len > 2 && all[0] == '[' && all[1] == '1' && all[len - 1] == ']');
  json_t *o = sio_args_value(&a, 4);
  assert_true(json_is_true(json_object_get(o, "k")));
  json_decref(o);
  /* a clone outlives the original */
  sio_args *c = sio__args_clone(&a);
  sio__args_free(&a);
  sio__buf_unref(att);
  assert_non_null(c);
  assert_string_equal(sio_args_str(c, 1, NULL), "t\xc3\xa9");
  assert_int_equal(sio_args_bin(c, 2, &d, &len), 0);
  assert_memory_equal(d, "\x01\x02", 2);
  sio__args_destroy(c);
}

static void test_many_args(void **state) {
  char json[2048] = "[\"ev\"";
  for (int i = 0; i < 100; i++) sprintf(json + strlen(json), ",%d", i);
  strcat(json, "]");
  sio_args a;
  assert_int_equal(sio__args_init(&a, json, strlen(json), 1, NULL, 0, 0, 0), 0);
  assert_int_equal(sio_args_count(&a), 100);
  int64_t v;
  assert_int_equal(sio_args_int(&a, 99, &v), 0);
  assert_int_equal(v, 99);
  sio__args_free(&a);
}

static void msg_args_are(sio_msg *m, const char *want) {
  assert_int_equal(m->failed, 0);
  sio__sbuf sb = SIO__SBUF_INIT;
  sio__sbuf_append(&sb, m->args.data ? m->args.data : "", m->args.len);
  sio__sbuf_appendc(&sb, 0);
  assert_string_equal(sb.data, want);
  sio__sbuf_free(&sb);
}

static void test_msg(void **state) {
  sio_msg *m = sio_msg_new("ev");
  sio_msg_str(m, "a\"b");
  sio_msg_int(m, -42);
  sio_msg_num(m, 0.1);
  sio_msg_num(m, 3.0);
  sio_msg_bool(m, 1);
  sio_msg_null(m);
  sio_msg_raw(m, " { \"x\" : 1e2 } ", 0);
  sio_msg_packf(m, "{s:i} s", "n", 5, "z");
  assert_int_equal(sio_msg_bin(m, "\xff", 1), 0);
  assert_int_equal(m->nargs, 10);
  msg_args_are(m, "\"a\\\"b\",-42,0.1,3,true,null,{\"x\":100},{\"n\":5},\"z\","
                  "{\"_placeholder\":true,\"num\":0}");
  assert_int_equal(m->natt, 1);
  sio_msg_free(m);

  int rc;
  m = sio__msg_from_raw("ev", "[ 1, \"x\" ]", &rc);
  assert_non_null(m);
  msg_args_are(m, "1,\"x\"");
  sio_msg_free(m);
  assert_null(sio__msg_from_raw("ev", "{\"not\":\"an array\"}", &rc));
  assert_int_equal(rc, -EINVAL);
  assert_null(sio__msg_from_raw("ev", "[1,", &rc));

  json_t *arr = json_pack("[s,{s:b}]", "q", "k", 1);
  m = sio__msg_from_value("ev", arr, &rc);
  msg_args_are(m, "\"q\",{\"k\":true}");
  sio_msg_free(m);
  json_decref(arr);

  m = sio_msg_new("ev");
  assert_int_not_equal(sio_msg_packf(m, "{s:i", "bad"), 0); /* bad format: failed message */
  assert_int_not_equal(m->failed, 0);
  sio_msg_free(m);

  /* pass-through keeps attachments */
  const char *json = "[\"ev\",{\"a\":{\"_placeholder\":true,\"num\":0}}]";
  sio__buf *att = sio__buf_from("xyz", 3);
  sio__buf *atts[] = {att};
  sio_args a;
  assert_int_equal(sio__args_init(&a, json, strlen(json), 1, atts, 1, 1, 0), 0);
  sio_msg stack;
  sio__msg_init_stack(&stack, "back");
  assert_int_equal(sio_msg_args(&stack, &a), 0);
  msg_args_are(&stack, "{\"a\":{\"_placeholder\":true,\"num\":0}}");
  assert_int_equal(stack.natt, 1);
  assert_ptr_equal(stack.att[0], att);
  sio_msg_free(&stack);
  sio__args_free(&a);
  sio__buf_unref(att);
}

static void test_encode(void **state) {
  sio_msg *m = sio_msg_new("hello");
  sio_msg_str(m, "w");
  sio__out o;
  assert_int_equal(sio__out_build(&o, m, SIO__SIO_EVENT, "/chat", 5, 7), 0);
  const char *pkt = o.text.b->data + o.text.data_off;
  size_t n = o.text.b->len - o.text.data_off;
  assert_int_equal(n, strlen("42/chat,7[\"hello\",\"w\"]"));
  assert_memory_equal(pkt, "42/chat,7[\"hello\",\"w\"]", n);
  sio__out_release(&o);
  sio_msg_bin(m, "\x01", 1);
  assert_int_equal(sio__out_build(&o, m, SIO__SIO_EVENT, "/", 1, SIO__SIO_NO_ID), 0);
  pkt = o.text.b->data + o.text.data_off;
  n = o.text.b->len - o.text.data_off;
  const char *want = "451-[\"hello\",\"w\",{\"_placeholder\":true,\"num\":0}]";
  assert_int_equal(n, strlen(want));
  assert_memory_equal(pkt, want, n);
  assert_int_equal(o.natt, 1);
  sio__out_release(&o);
  sio_msg_free(m);
  m = sio_msg_new(NULL); /* an ack answer */
  sio_msg_int(m, 1);
  assert_int_equal(sio__out_build(&o, m, SIO__SIO_ACK, "/", 1, 12), 0);
  pkt = o.text.b->data + o.text.data_off;
  n = o.text.b->len - o.text.data_off;
  assert_memory_equal(pkt, "4312[1]", n);
  sio__out_release(&o);
  sio_msg_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_canon),     cmocka_unit_test(test_canon_flag),
      cmocka_unit_test(test_args_view), cmocka_unit_test(test_many_args),
      cmocka_unit_test(test_msg),       cmocka_unit_test(test_encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
