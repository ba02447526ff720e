/* The adapter seam used from outside, as a multi-node adapter would: a test adapter written
 * against sio/adapter.h only wraps the in-memory one, records every call the namespace makes
 * and plays two other servers (server count 3, one remote socket, a remote room, answers to
 * server-side emits and to a broadcast with acks). A raw WebSocket client connects to "/"; the
 * scenario drives each public cluster call and each call an adapter makes into its namespace
 * (a remote broadcast delivered locally, remote join/disconnect, describing the local sockets,
 * a server-side emit delivered to the namespace's handlers) and checks what the client got. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/adapter.h"
#include "sio/io.h"
#include "socketio/raw_client.h"

/* --- the test adapter ---------------------------------------------------------------------- */

typedef struct rec_adapter {
  sio_adapter base;
  sio_adapter *mem; /* rooms and selection: the in-memory adapter's */
  char log[4096];
  sio_bcast_acks *acks; /* a broadcast with acks, to answer for the "other servers" */
} rec_adapter;

static rec_adapter *g_rec;

static void logf_(rec_adapter *r, const char *fmt, ...) {
  size_t n = strlen(r->log);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->log + n, sizeof r->log - n, fmt, ap);
  va_end(ap);
}

static sio_adapter *mem_of(sio_adapter *a) {
  return ((rec_adapter *)a)->mem;
}
static const sio_adapter *cmem_of(const sio_adapter *a) {
  return ((const rec_adapter *)a)->mem;
}

static void rec_destroy(sio_adapter *a) {
  sio_adapter *m = mem_of(a);
  m->ops->destroy(m);
  if (g_rec == (rec_adapter *)a) g_rec = NULL;
  free(a);
}
static int rec_add_all(sio_adapter *a, sio_member *m, const char *const *rooms, size_t n) {
  logf_((rec_adapter *)a, "add_all(%s);", rooms[0]);
  return mem_of(a)->ops->add_all(mem_of(a), m, rooms, n);
}
static int rec_del(sio_adapter *a, sio_member *m, const char *room) {
  return mem_of(a)->ops->del(mem_of(a), m, room);
}
static void rec_del_all(sio_adapter *a, sio_member *m) {
  mem_of(a)->ops->del_all(mem_of(a), m);
}
static int rec_has(const sio_adapter *a, const sio_member *m, const char *room) {
  return cmem_of(a)->ops->has(cmem_of(a), m, room);
}
static void rec_rooms_of(const sio_adapter *a, const sio_member *m, sio_room_name_fn fn,
                         void *ctx) {
  cmem_of(a)->ops->rooms_of(cmem_of(a), m, fn, ctx);
}
static size_t rec_room_size(const sio_adapter *a, const char *room) {
  return cmem_of(a)->ops->room_size(cmem_of(a), room);
}
static size_t rec_count(const sio_adapter *a) {
  return cmem_of(a)->ops->count(cmem_of(a));
}
static void rec_rooms(const sio_adapter *a, sio_room_name_fn fn, void *ctx) {
  cmem_of(a)->ops->rooms(cmem_of(a), fn, ctx);
}
static long rec_select(sio_adapter *a, const sio_bcast_opts *o, sio_member_fn fn, void *ctx) {
  logf_((rec_adapter *)a, "select;");
  return mem_of(a)->ops->select(mem_of(a), o, fn, ctx);
}
static long rec_broadcast(sio_adapter *a, const sio_packet *p, const sio_bcast_opts *o,
                          sio_member_fn fn, void *ctx, sio_bcast_acks *acks) {
  rec_adapter *r = (rec_adapter *)a;
  size_t len;
  const char *data = sio_packet_data(p, &len);
  logf_(r, "broadcast(%s,%.*s,rooms=%zu,flags=%u,att=%u);", sio_packet_nsp(p), (int)len, data,
        o->nrooms, o->flags, sio_packet_attachments(p));
  if (acks) { /* one other server will report its clients */
    sio_bcast_acks_expect_servers(acks, 1);
    sio_bcast_acks_ref(acks);
    r->acks = acks;
  }
  return mem_of(a)->ops->select(mem_of(a), o, fn, ctx);
}
static int rec_fetch(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                     void *user) {
  logf_((rec_adapter *)a, "fetch_sockets;");
  const char *rooms[] = {"remote1", "lobby"};
  sio_remote_socket rs = {"remote1", "{\"auth\":{}}", rooms, 2, "{}"};
  fn(0, &rs, 1, user);
  return 0;
}
static int rec_add_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                           size_t n) {
  logf_((rec_adapter *)a, "add_sockets(%s,rooms=%zu);", rooms[0], o->nrooms);
  return 0;
}
static int rec_del_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                           size_t n) {
  logf_((rec_adapter *)a, "del_sockets(%s);", rooms[0]);
  return 0;
}
static int rec_disconnect(sio_adapter *a, const sio_bcast_opts *o, int close) {
  logf_((rec_adapter *)a, "disconnect_sockets(%d);", close);
  return 0;
}
static int rec_sse(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms, sio_server_acks_fn fn,
                   void *user) {
  size_t len;
  const char *data = sio_packet_data(p, &len);
  logf_((rec_adapter *)a, "server_side_emit(%.*s,%s", (int)len, data, fn ? "ack" : "-");
  for (unsigned i = 0; i < sio_packet_attachments(p); i++) {
    size_t n;
    const unsigned char *b = sio_packet_attachment(p, i, &n);
    logf_((rec_adapter *)a, ",bin%u=%zu:%u", i, n, n ? b[n - 1] : 0);
  }
  logf_((rec_adapter *)a, ");");
  const char *answers[] = {"\"pong-b\"", "\"pong-c\""};
  if (fn) fn(0, answers, 2, user);
  return 0;
}
static int rec_server_count(sio_adapter *a, sio_count_fn fn, void *user) {
  fn(0, 3, user);
  return 0;
}
static int add_name(const char *room, size_t len, void *ctx) {
  const char **v = ctx;
  for (int i = 0; i < 15; i++)
    if (!v[i]) {
      v[i] = room;
      break;
    }
  return 0;
}
static int rec_all_rooms(sio_adapter *a, uint32_t timeout_ms, sio_names_fn fn, void *user) {
  const char *v[16] = {0};
  rec_rooms(a, add_name, v);
  size_t n = 0;
  while (v[n]) n++;
  v[n++] = "remote-room";
  fn(0, v, n, user);
  return 0;
}

static const sio_adapter_ops rec_ops = {
    .name = "recording",
    .destroy = rec_destroy,
    .add_all = rec_add_all,
    .del = rec_del,
    .del_all = rec_del_all,
    .has = rec_has,
    .rooms_of = rec_rooms_of,
    .room_size = rec_room_size,
    .count = rec_count,
    .rooms = rec_rooms,
    .select = rec_select,
    .broadcast = rec_broadcast,
    .fetch_sockets = rec_fetch,
    .add_sockets = rec_add_sockets,
    .del_sockets = rec_del_sockets,
    .disconnect_sockets = rec_disconnect,
    .server_side_emit = rec_sse,
    .server_count = rec_server_count,
    .all_rooms = rec_all_rooms,
};

static sio_adapter *rec_new(sio_nsp *nsp, void *arg) {
  rec_adapter *r = calloc(1, sizeof(*r));
  if (!r) return NULL;
  r->mem = sio_memory_adapter_new(nsp, NULL);
  if (!r->mem) {
    free(r);
    return NULL;
  }
  r->base.ops = &rec_ops;
  r->base.nsp = nsp;
  (*(int *)arg)++;
  if (!g_rec) g_rec = r; /* the first: "/" */
  return &r->base;
}

/* --- the client ---------------------------------------------------------------------------- */

typedef struct state {
  uv_loop_t loop;
  sio_app *app;
  sio_io *io;
  sio_nsp *main;
  uv_tcp_t client;
  uv_connect_t creq;
  char in[16384];
  size_t inlen;
  int step;
  int factories;
  sio_socket *sock;
  int count_calls, sse_calls, remote_calls, rooms_calls, acks_calls, describe_calls;
  int server_event_calls, replies;
  char reply[64];
  size_t acks_count;
  char acks_first[64], acks_second[64];
  size_t acks_first_bin; /* bytes of the remote answer's binary argument */
  int server_bin_calls;  /* server-side events whose second argument was binary */
  int app_closed;
} state;

static state st;

static void on_conn(sio_socket *s, void *u) {
  st.sock = s; /* (the wrapped adapter has no id lookup: own rooms are real rooms there) */
  assert_int_equal(sio_join(s, "r1"), 0);
}

static void on_count(int status, size_t n, void *user) {
  assert_int_equal(status, 0);
  assert_int_equal(n, 3);
  st.count_calls++;
}
static void on_sse_acks(int status, const char *const *answers, size_t n, void *user) {
  assert_int_equal(status, 0);
  assert_int_equal(n, 2);
  assert_string_equal(answers[1], "\"pong-c\"");
  st.sse_calls++;
}
static void on_remote(int status, const sio_remote_socket *v, size_t n, void *user) {
  assert_int_equal(n, 1);
  assert_string_equal(v[0].id, "remote1");
  assert_string_equal(v[0].rooms[1], "lobby");
  st.remote_calls++;
}
static void on_rooms(int status, const char *const *names, size_t n, void *user) {
  int r1 = 0, remote = 0;
  for (size_t i = 0; i < n; i++) {
    r1 |= strcmp(names[i], "r1") == 0;
    remote |= strcmp(names[i], "remote-room") == 0;
  }
  assert_true(r1 && remote);
  st.rooms_calls++;
}
static void on_describe(int status, const sio_remote_socket *v, size_t n, void *user) {
  assert_int_equal(n, 1);
  assert_string_equal(v[0].id, sio_id(st.sock));
  assert_int_equal(v[0].nrooms, 3); /* its own, r1, r2 */
  assert_non_null(strstr(v[0].handshake_json, "\"url\":\"/socket.io/?EIO=4&transport=websocket\""));
  assert_non_null(
      strstr(v[0].handshake_json, "\"query\":{\"EIO\":\"4\",\"transport\":\"websocket\"}"));
  assert_non_null(strstr(v[0].handshake_json, "\"host\":\"x\""));
  assert_non_null(strstr(v[0].handshake_json, "\"auth\":{}}"));
  assert_string_equal(v[0].data_json, "{}");
  st.describe_calls++;
}
static void on_server_hello(sio_nsp *nsp, const sio_args *a, sio_server_ack *ack, void *user) {
  assert_ptr_equal(nsp, st.main);
  assert_string_equal(sio_args_str(a, 0, NULL), "x");
  const void *bin;
  size_t bin_len;
  if (sio_args_count(a) > 1) { /* the binary one */
    assert_int_equal(sio_args_bin(a, 1, &bin, &bin_len), 0);
    assert_memory_equal(bin, "\x01\x02\x03", 3);
    assert_int_equal(bin_len, 3);
    st.server_bin_calls++;
  }
  st.server_event_calls++;
  if (ack) {
    assert_int_equal(sio_server_ack_send_raw(ack, "\"hi\""), 0);
    assert_int_equal(sio_server_ack_send_raw(ack, "\"again\""), -EALREADY);
  }
}
static void on_reply(const char *json, size_t len, void *user) {
  snprintf(st.reply, sizeof st.reply, "%.*s", (int)len, json);
  st.replies++;
}
static void on_acks(int status, const sio_acks *acks, void *user) {
  assert_int_equal(status, 0);
  st.acks_count = sio_acks_count(acks);
  size_t l0, l1; /* the texts are not NUL-terminated */
  const char *a0 = sio_args_json_all(sio_acks_args(acks, 0), &l0);
  const char *a1 = sio_args_json_all(sio_acks_args(acks, 1), &l1);
  snprintf(st.acks_first, sizeof st.acks_first, "%.*s", (int)l0, a0);
  snprintf(st.acks_second, sizeof st.acks_second, "%.*s", (int)l1, a1);
  const void *bin;
  if (sio_args_bin(sio_acks_args(acks, 0), 0, &bin, &st.acks_first_bin) == 0)
    assert_memory_equal(bin, "\x07\x08", 2);
  st.acks_calls++;
}

static const char *const r2[] = {"r2"};

static size_t remote_count = 99;
static void on_remote_count(size_t n, void *user) {
  remote_count = n;
}
static void on_remote_answer(const char *json, size_t len, const void *const *att,
                             const size_t *att_len, unsigned natt, void *user) {
  fail(); /* nobody was selected */
}

/* Every cluster call, after the client connected and got the first broadcast. */
static void cluster_calls(void) {
  rec_adapter *r = g_rec;
  assert_int_equal(sio_sockets_join(sio_to(st.io, "r1"), "r2"), 0);
  assert_true(sio_in_room(st.sock, "r2"));
  assert_int_equal(sio_sockets_leave(sio_local(sio_to(st.io, "r1")), "r2"), 0); /* local only */
  assert_false(sio_in_room(st.sock, "r2"));
  assert_int_equal(sio_sockets_join(sio_to(st.io, "r1"), "r2"), 0);
  assert_int_equal(sio_server_count(st.main, on_count, NULL), 0);
  assert_int_equal(sio_server_side_emit_raw(st.main, "note", "[1,{\"a\" : 2}]"), 0);
  assert_int_equal(sio_server_side_emit_ack_raw(st.main, "ping", NULL, 1000, on_sse_acks, NULL), 0);
  sio_msg *sm = sio_msg_new("bin");
  assert_int_equal(sio_msg_bin(sm, "\x05\x06", 2), 0);
  assert_int_equal(sio_server_side_emit_msg(st.main, sm), 0);
  assert_int_equal(
      sio_server_side_emit_ack_msg(st.main, sio_msg_new("ping"), 1000, on_sse_acks, NULL), 0);
  assert_int_equal(sio_server_side_emit_msg(st.main, sio_msg_new("disconnect")), -EINVAL);
  assert_int_equal(sio_server_side_emit_ack_msg(st.main, sio_msg_new("x"), 0, NULL, NULL), -EINVAL);
  assert_int_equal(sio_server_side_emit_raw(st.main, "disconnect", NULL), -EINVAL);
  assert_int_equal(sio_fetch_remote_sockets(sio_in(st.io, "lobby"), on_remote, NULL), 0);
  assert_int_equal(sio_nsp_all_rooms(st.main, on_rooms, NULL), 0);
  assert_non_null(strstr(r->log, "add_sockets(r2,rooms=1);"));
  assert_null(strstr(r->log, "del_sockets"));
  assert_non_null(strstr(r->log, "server_side_emit([\"note\",1,{\"a\":2}],-);"));
  assert_non_null(strstr(r->log, "server_side_emit([\"ping\"],ack);"));
  assert_non_null(
      strstr(r->log, "server_side_emit([\"bin\",{\"_placeholder\":true,\"num\":0}],-,bin0=2:6);"));
  assert_non_null(strstr(r->log, "fetch_sockets;"));
  /* the calls an adapter makes for messages from other nodes */
  sio_bcast_opts in_r2 = {r2, 1, NULL, 0, 0, 0};
  const char bin[3] = {1, 2, 3};
  const void *att[] = {bin};
  size_t att_len[] = {3};
  const char *data = "[\"remote\",{\"_placeholder\":true,\"num\":0},\"\\u00e9\"]";
  r->log[0] = '\0';
  assert_int_equal(sio_adapter_deliver(st.main, data, strlen(data), att, att_len, 1, &in_r2, NULL),
                   0);
  assert_string_equal(r->log, "select;"); /* local only, nothing forwarded */
  const char *nobody[] = {"nobody"};
  sio_bcast_opts in_nobody = {nobody, 1, NULL, 0, SIO_BC_ACK, 500};
  sio_remote_acks back = {on_remote_count, on_remote_answer, NULL};
  const char *plain = "[\"q\"]";
  assert_int_equal(
      sio_adapter_deliver(st.main, plain, strlen(plain), NULL, NULL, 0, &in_nobody, &back), 0);
  assert_int_equal(remote_count, 0); /* BROADCAST_CLIENT_COUNT of this node */
  assert_int_equal(sio_adapter_deliver(st.main, "{}", 2, NULL, NULL, 0, &in_r2, NULL), -EINVAL);
  assert_int_equal(sio_adapter_describe_sockets(st.main, &in_r2, on_describe, NULL), 0);
  assert_int_equal(sio_nsp_on_server_side(st.main, "hello", on_server_hello, NULL), 0);
  const char *hello = "[\"hello\",\"x\"]";
  assert_int_equal(
      sio_adapter_server_side_deliver(st.main, hello, strlen(hello), NULL, NULL, 0, on_reply, NULL),
      0);
  assert_int_equal(
      sio_adapter_server_side_deliver(st.main, hello, strlen(hello), NULL, NULL, 0, NULL, NULL), 0);
  const char *hello_bin = "[\"hello\",\"x\",{\"_placeholder\":true,\"num\":0}]";
  assert_int_equal(sio_adapter_server_side_deliver(st.main, hello_bin, strlen(hello_bin), att,
                                                   att_len, 1, NULL, NULL),
                   0);
  assert_int_equal(st.server_bin_calls, 1);
  assert_int_equal(sio_adapter_server_side_deliver(st.main, hello_bin, strlen(hello_bin), NULL,
                                                   att_len, 1, NULL, NULL),
                   -EINVAL);
  assert_int_equal(st.server_event_calls, 3);
  assert_int_equal(st.replies, 1);
  assert_string_equal(st.reply, "\"hi\"");
  assert_int_equal(sio_adapter_server_side_deliver(st.main, "[1]", 3, NULL, NULL, 0, NULL, NULL),
                   -EINVAL);
  /* a broadcast with acks: the local client answers, the "other server" too */
  sio_msg *m = sio_msg_new("ask");
  assert_int_equal(sio_msg_acks(m, on_acks, NULL, 2000), 0);
  assert_int_equal(sio_emit_msg(sio_to(st.io, "r1"), m), 0);
  assert_non_null(r->acks);
  sio_bcast_acks_client_count(r->acks, 1);
  const char answer_bin[2] = {7, 8};
  const void *answer_att[] = {answer_bin};
  size_t answer_len[] = {2};
  const char *answer = "[{\"_placeholder\":true,\"num\":0}]";
  assert_int_equal(sio_bcast_acks_answer(r->acks, "[oops", 5, NULL, NULL, 0), -EINVAL);
  assert_int_equal(sio_bcast_acks_answer(r->acks, answer, strlen(answer), NULL, answer_len, 1),
                   -EINVAL);
  assert_int_equal(
      sio_bcast_acks_answer(r->acks, answer, strlen(answer), answer_att, answer_len, 1), 0);
}

static void app_closed(sio_app *app, void *u) {
  st.app_closed = 1;
}
static void client_closed(uv_handle_t *h) {}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  b->base = st.in + st.inlen;
  b->len = sizeof st.in - st.inlen - 1;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)s, client_closed);
    return;
  }
  for (ssize_t i = 0; i < n; i++) /* frames hold NULs: keep the text searchable */
    if (st.in[st.inlen + i] == '\0') st.in[st.inlen + i] = ' ';
  st.inlen += (size_t)n;
  st.in[st.inlen] = 0;
  if (st.step == 0 && strstr(st.in, "0{\"sid\"")) {
    st.step = 1;
    raw_send_text(&st.client, "40");
  }
  if (st.step == 1 && strstr(st.in, "40{\"sid\":\"") && st.sock) {
    st.step = 2;
    assert_non_null(strstr(g_rec->log, "add_all("));
    assert_int_equal(sio_emit_raw(sio_to(st.io, "r1"), "b", "[1]"), 0);
    assert_non_null(strstr(g_rec->log, "broadcast(/,[\"b\",1],rooms=1,flags=2,att=0);"));
  }
  if (st.step == 2 && strstr(st.in, "42[\"b\",1]")) {
    st.step = 3;
    cluster_calls();
  }
  if (st.step == 3 && strstr(st.in, "451-[\"remote\",{\"_placeholder\":true,\"num\":0},\"é\"]") &&
      strstr(st.in, "\x01\x02\x03")) {
    char *ask = strstr(st.in, "[\"ask\"]");
    if (!ask) return;
    char *id = ask;
    while (id > st.in && id[-1] >= '0' && id[-1] <= '9') id--;
    id += 2; /* "42" (Engine.IO message, Socket.IO EVENT), then the ack id */
    char answer[64];
    snprintf(answer, sizeof answer, "43%.*s[\"from-local\"]", (int)(ask - id), id);
    st.step = 4;
    raw_send_text(&st.client, answer);
  }
  if (st.step == 4 && st.acks_calls) {
    st.step = 5;
    sio_bcast_acks_release(g_rec->acks);
    g_rec->acks = NULL;
    sio_bcast_opts all = {0};
    assert_int_equal(sio_adapter_apply_disconnect(st.main, &all, 0), 0);
  }
  if (st.step == 5 && strstr(st.in, "41")) {
    st.step = 6;
    sio_io_close(st.io);
    sio_app_close(st.app, app_closed, NULL);
  }
}

static void on_connect(uv_connect_t *r, int status) {
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&st.client, alloc_cb, read_cb);
  raw_write(&st.client, raw_upgrade, strlen(raw_upgrade));
}

static void test_seam(void **state_) {
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  st.app = sio_app_new(&st.loop, &ao);
  assert_non_null(st.app);
  sio_io_opts io_opts = sio_io_opts_default();
  io_opts.adapter = rec_new;
  io_opts.adapter_arg = &st.factories;
  st.io = sio_io_attach(st.app, &io_opts);
  assert_non_null(st.io);
  assert_int_equal(st.factories, 1); /* "/" */
  st.main = sio_of(st.io, "/");
  assert_non_null(sio_of(st.io, "/other"));
  assert_int_equal(st.factories, 2);
  assert_int_equal(sio_io_on_connection(st.io, on_conn, NULL), 0);
  assert_int_equal(sio_app_listen(st.app), 0);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", sio_app_port(st.app), &addr);
  uv_tcp_init(&st.loop, &st.client);
  uv_tcp_connect(&st.creq, &st.client, (struct sockaddr *)&addr, on_connect);
  for (int i = 0; i < 4000 && !st.app_closed; i++) uv_run(&st.loop, UV_RUN_ONCE);
  assert_int_equal(st.step, 6);
  assert_int_equal(st.count_calls, 1);
  assert_int_equal(st.sse_calls, 2);
  assert_int_equal(st.remote_calls, 1);
  assert_int_equal(st.rooms_calls, 1);
  assert_int_equal(st.describe_calls, 1);
  assert_int_equal(st.acks_calls, 1);
  assert_int_equal(st.acks_count, 2);
  assert_string_equal(st.acks_first, "[{\"_placeholder\":true,\"num\":0}]");
  assert_int_equal(st.acks_first_bin, 2); /* the other server's client answered binary */
  assert_string_equal(st.acks_second, "[\"from-local\"]");
  if (!uv_is_closing((uv_handle_t *)&st.client)) uv_close((uv_handle_t *)&st.client, client_closed);
  sio_app_free(st.app);
  sio_io_free(st.io);
  for (int i = 0; i < 100 && uv_loop_alive(&st.loop); i++) uv_run(&st.loop, UV_RUN_NOWAIT);
  uv_loop_close(&st.loop);
}

/* The in-memory adapter when no factory is given: a single-node cluster. */
static void on_count1(int status, size_t n, void *user) {
  assert_int_equal(n, 1);
  (*(int *)user)++;
}
static void on_sse_none(int status, const char *const *answers, size_t n, void *user) {
  assert_int_equal(status, 0);
  assert_int_equal(n, 0);
  (*(int *)user)++;
}
static void on_remote_none(int status, const sio_remote_socket *v, size_t n, void *user) {
  assert_int_equal(n, 0);
  (*(int *)user)++;
}
static void on_no_rooms(int status, const char *const *names, size_t n, void *user) {
  assert_int_equal(n, 0);
  (*(int *)user)++;
}
static void on_never(sio_nsp *nsp, const sio_args *a, sio_server_ack *ack, void *user) {
  fail(); /* a server's own server-side emits do not reach it */
}

static void test_default_single_node(void **state_) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_app_opts ao = sio_app_opts_default();
  ao.port_any = 1;
  ao.host = "127.0.0.1";
  sio_app *app = sio_app_new(&loop, &ao);
  sio_io *io = sio_io_attach(app, NULL);
  assert_non_null(io);
  sio_nsp *nsp = sio_of(io, "/");
  int calls = 0;
  assert_int_equal(sio_nsp_on_server_side(nsp, "ev", on_never, NULL), 0);
  assert_int_equal(sio_server_count(nsp, on_count1, &calls), 0);
  assert_int_equal(sio_server_side_emit_raw(nsp, "ev", "[1]"), 0);
  assert_int_equal(sio_server_side_emit_raw(nsp, "ev", "[1"), -EINVAL);
  assert_int_equal(sio_server_side_emit_ack_raw(nsp, "ev", NULL, 0, on_sse_none, &calls), 0);
  assert_int_equal(sio_fetch_remote_sockets(sio_io_op(io), on_remote_none, &calls), 0);
  assert_int_equal(sio_nsp_all_rooms(nsp, on_no_rooms, &calls), 0);
  assert_int_equal(calls, 4);
  assert_int_equal(sio_server_count(NULL, on_count1, &calls), -EINVAL);
  sio_app_free(app);
  sio_io_free(io);
  for (int i = 0; i < 100 && uv_loop_alive(&loop); i++) uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_seam),
                                     cmocka_unit_test(test_default_single_node)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
