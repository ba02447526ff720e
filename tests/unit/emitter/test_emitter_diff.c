/* Differential test against npm @socket.io/redis-emitter 5.1: every emitter call of the list
 * below is made on sio's emitter (publishes captured by the test tap, not sent) and on Node's
 * (tests/unit/emitter/emitter_diff.mjs, the same calls in the same order, through a fake Redis
 * client); each publish's channel and payload must be Node's, byte for byte. The calls Node
 * refuses (reserved event names, serverSideEmit with an ack) are refused here too. Skipped
 * when Node or the npm package is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/node_peer.h"
#include "core/alloc.h"
#include "emitter/emitter_internal.h"

#define MAX_PUBS 64

static char *pubs[MAX_PUBS]; /* "M <channel hex> <payload hex>", as the Node script writes */
static size_t npubs, nchecked, ndiffer;

static void put_hex(sio__sbuf *b, const void *data, size_t n) {
  const unsigned char *d = data;
  for (size_t i = 0; i < n; i++) sio__sbuf_printf(b, "%02x", d[i]);
}

static void tap(const char *ch, size_t chlen, const void *payload, size_t len, void *user) {
  sio__sbuf b = SIO__SBUF_INIT;
  sio__sbuf_appends(&b, "M ");
  put_hex(&b, ch, chlen);
  sio__sbuf_appendc(&b, ' ');
  put_hex(&b, payload, len);
  sio__sbuf_appendc(&b, 0);
  assert_true(npubs < MAX_PUBS);
  pubs[npubs++] = strdup(b.data);
  sio__sbuf_free(&b);
}

static void answer(FILE *out, char *line, size_t n) {
  if (nchecked >= npubs) {
    fprintf(stderr, "node published more: %.200s\n", line);
    ndiffer++;
  } else if (strcmp(line, pubs[nchecked])) {
    fprintf(stderr, "publish %zu differs\n node %.400s\n sio  %.400s\n", nchecked, line,
            pubs[nchecked]);
    ndiffer++;
  }
  nchecked++;
}

static sio_emitter *new_emitter(uv_loop_t *loop, const char *key, const char *nsp) {
  sio_emitter_opts o = sio_emitter_opts_default();
  sio_emitter *e;
  if (key) o.key = key;
  if (nsp) o.nsp = nsp;
  /* a port nothing listens on: the tap takes every publish */
  assert_int_equal(sio_emitter_new(loop, "redis://127.0.0.1:1", &o, &e), 0);
  sio__emitter_set_tap(e, tap, NULL);
  return e;
}

/* The calls of emitter_diff.mjs, in its order. */
static void make_calls(sio_emitter *e, sio_emitter *k) {
  static const unsigned char b123[] = {1, 2, 3}, b0[] = {0};
  static char big[70001];
  static unsigned char bigbin[70000];
  sio_emitter_bin mixed[] = {{"ab", 2}, {b0, 1}};
  const char *ab[] = {"a", "b"};
  assert_int_equal(sio_emitter_emit_raw(e, "hello", NULL), 0);
  assert_int_equal(sio_emitter_emit_raw(e, "hello",
                                        "[ \"world\", 1, 2.5, null, {\"a\": [true, false]}, "
                                        "[1, [2]] ]"),
                   0);
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_to(e, "room1"), "ev", "[1,{\"a\":true}]"),
                   0);
  sio_emitter_op *op = sio_emitter_op_to(sio_emitter_op_to(sio_emitter_to(e, "r1"), "r2"), "r1");
  op = sio_emitter_op_except(sio_emitter_op_except(op, "x"), "y");
  assert_int_equal(sio_emitter_op_emit_raw(op, "multi", "[]"), 0);
  assert_int_equal(
      sio_emitter_op_emit_raw(sio_emitter_op_except(sio_emitter_in(e, "a"), "a"), "in", NULL), 0);
  assert_int_equal(sio_emitter_emit_bin(e, "bin", b123, 3), 0);
  assert_int_equal(sio_emitter_op_emit_raw_bins(sio_emitter_op_new(e), "mixed",
                                                "[\"x\",{\"f\":{\"_placeholder\":true,\"num\":0},"
                                                "\"g\":[{\"_placeholder\":true,\"num\":1}]}]",
                                                mixed, 2),
                   0);
  sio_emitter *chat = sio_emitter_of(e, "/chat"), *chat2 = sio_emitter_of(e, "chat");
  assert_int_equal(
      sio_emitter_op_emit_raw(sio_emitter_op_volatile(sio_emitter_except(chat, "x")), "v", NULL),
      0);
  assert_int_equal(
      sio_emitter_op_emit_raw(sio_emitter_op_volatile(sio_emitter_compress(chat2, 0)), "c", NULL),
      0);
  op = sio_emitter_op_compress(sio_emitter_op_compress(sio_emitter_volatile(e), 1), 0);
  assert_int_equal(sio_emitter_op_emit_raw(op, "vc", NULL), 0);
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_to(k, "r"), "k",
                                           "[\"\xc3\xa9\",\"\\u2028\",\"\\ud83d\\ude00\"]"),
                   0);
  assert_int_equal(sio_emitter_op_sockets_join(sio_emitter_in(e, "r"), "s"), 0);
  assert_int_equal(sio_emitter_op_sockets_joinv(sio_emitter_op_new(e), ab, 2), 0);
  assert_int_equal(
      sio_emitter_op_sockets_leave(sio_emitter_op_except(sio_emitter_to(e, "r"), "x"), "s"), 0);
  assert_int_equal(sio_emitter_op_sockets_leavev(sio_emitter_op_new(e), ab, 2), 0);
  assert_int_equal(sio_emitter_disconnect_sockets(e, 1), 0);
  assert_int_equal(sio_emitter_disconnect_sockets(e, 0), 0);
  assert_int_equal(sio_emitter_op_disconnect_sockets(sio_emitter_to(e, "r"), 0), 0);
  assert_int_equal(
      sio_emitter_server_side_emit_raw(
          e, "[\"hello\", \"world\", {\"a\": 15e299, \"b\": [1,2], \"a\": 1.5e300}, 1e21, -0]"),
      0);
  assert_int_equal(sio_emitter_server_side_emitf(e, "s", "n"), 0);
  assert_int_equal(sio_emitter_emitf(e, "f", "is{s:i}", 1, "two", "three", 3), 0);
  json_t *v = json_pack("[[is]{s:n}]", 1, "a", "k");
  assert_int_equal(sio_emitter_emit_value(e, "value", v), 0);
  json_decref(v);
  assert_int_equal(sio_emitter_emit_raw(e, "num", "[1e21,-0,0.1,9007199254740992,-5,300,-70000]"),
                   0);
  sio_emitter *admin = sio_emitter_of(e, "/admin");
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_to(admin, "only"), "one", NULL), 0);
  memset(big, 'x', 70000);
  char *bigjson = malloc(70010);
  snprintf(bigjson, 70010, "[\"%s\"]", big);
  assert_int_equal(sio_emitter_emit_raw(e, "big", bigjson), 0);
  free(bigjson);
  memset(bigbin, 7, sizeof bigbin);
  assert_int_equal(sio_emitter_emit_bin(e, "bigbin", bigbin, sizeof bigbin), 0);
  sio_emitter *y = sio_emitter_of(k, "/y");
  assert_int_equal(
      sio_emitter_op_disconnect_sockets(sio_emitter_op_in(sio_emitter_in(y, "a"), "b"), 1), 0);
  assert_int_equal(sio_emitter_server_side_emit_raw(k, "[\"k\",\"\xc3\xa9\"]"), 0);
  assert_int_equal(sio_emitter_emit_bin(e, "empty", NULL, 0), 0);
  sio_emitter_free(chat), sio_emitter_free(chat2), sio_emitter_free(admin), sio_emitter_free(y);
}

static void test_refused_as_node_refuses(void **state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_emitter *e = new_emitter(&loop, NULL, NULL);
  const char *reserved[] = {"connect",       "connect_error", "disconnect",
                            "disconnecting", "newListener",   "removeListener"};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(sio_emitter_emit_raw(e, reserved[i], NULL), -EINVAL);
  assert_int_equal(sio_emitter_server_side_emit_ack(e, "[\"ask\"]", NULL, NULL), -ENOTSUP);
  assert_int_equal(sio_emitter_emit_raw(e, "ev", "{\"not\":\"an array\"}"), -EINVAL);
  assert_int_equal(sio_emitter_emit_raw(e, "ev", "[1,"), -EINVAL);
  assert_int_equal(sio_emitter_server_side_emit_raw(e, "[1"), -EINVAL);
  assert_int_equal(sio_emitter_op_emit_raw(sio_emitter_to(e, NULL), "ev", NULL), -EINVAL);
  assert_int_equal(sio_emitter_op_emit_raw_bins(sio_emitter_op_new(e), "ev",
                                                "[{\"_placeholder\":true,\"num\":3}]",
                                                &(sio_emitter_bin){"a", 1}, 1),
                   -EINVAL);
  assert_int_equal(sio_emitter_op_emit_raw(NULL, "ev", NULL), -ENOMEM);
  assert_int_equal(npubs, 0);
  sio_emitter_free(e);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(sio__alloc_live(), 0);
}

static void count_tap(const char *ch, size_t chlen, const void *payload, size_t len, void *user) {
  ++*(int *)user;
}

/* Every call made with allocations failing from the n-th on, for each n: each fails cleanly
 * (-ENOMEM, or NULL for sio_emitter_of) or publishes; nothing leaks. */
static void test_allocation_failures(void **state) {
  static const unsigned char bin[] = {1, 2};
  for (long n = 0;; n++) {
    uv_loop_t loop;
    sio_emitter *e = NULL;
    int published = 0, ok = 0;
    long live = sio__alloc_live();
    uv_loop_init(&loop);
    sio__alloc_fail_after(n);
    if (!sio_emitter_new(&loop, "redis://127.0.0.1:1", NULL, &e)) {
      sio__emitter_set_tap(e, count_tap, &published);
      sio_emitter *chat = sio_emitter_of(e, "chat");
      sio_emitter_op *op =
          sio_emitter_op_volatile(sio_emitter_op_except(sio_emitter_to(e, "a"), "b"));
      ok += !sio_emitter_op_emit_raw(op, "ev", "[1,{\"x\":[true]}]");
      ok += !sio_emitter_emit_bin(chat ? chat : e, "bin", bin, 2);
      ok += !sio_emitter_emitf(e, "f", "s{s:i}", "a", "b", 1);
      ok += !sio_emitter_op_sockets_join(sio_emitter_in(e, "r"), "s");
      ok += !sio_emitter_disconnect_sockets(e, 1);
      ok += !sio_emitter_server_side_emit_raw(e, "[\"ping\",2]");
      sio_emitter_free(chat);
      sio_emitter_free(e);
    }
    sio__alloc_fail_reset();
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(sio__alloc_live(), live);
    assert_int_equal(published, ok); /* every call that returned 0 published */
    if (ok == 6) break;
  }
}

static void test_against_node_emitter(void **state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_emitter *e = new_emitter(&loop, NULL, NULL), *k = new_emitter(&loop, "my-key", "/x");
  make_calls(e, k);
  sio_emitter_free(e), sio_emitter_free(k);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  int code = node_peer_run("../emitter/emitter_diff.mjs", answer);
  for (size_t i = 0; i < npubs; i++) free(pubs[i]);
  if (code == 77 || code == 127) skip(); /* no emitter package in node_modules, or no Node */
  assert_int_equal(code, 0);
  fprintf(stderr, "emitter diff: %zu publishes of sio, %zu of Node, %zu differ\n", npubs, nchecked,
          ndiffer);
  assert_int_equal(ndiffer, 0);
  assert_int_equal(nchecked, npubs);
  assert_int_equal(sio__alloc_live(), 0);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_refused_as_node_refuses),
                                     cmocka_unit_test(test_allocation_failures),
                                     cmocka_unit_test(test_against_node_emitter)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
