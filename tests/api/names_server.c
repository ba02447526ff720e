/* The server of tests/api/names.test.mjs: the deprecated names of sio 0.1 still work (each
 * event below answers through one of them), and the user-data slots of every handle hold
 * what was put there. The only file in the tree that calls a deprecated name: it is compiled
 * with -Wno-deprecated-declarations.
 *
 *   names_server --port N      (prints its URL once listening; SIGTERM stops it)
 *
 * Events (each with an ack unless said): "ack_raw", "ack_value", "ack_args" (echoes its
 * arguments), "ack_msg" answer through sio_ack_raw / _value / _args / _msg; "op_emit" and
 * "async" make the server emit "op" ([1]) through sio_op_emit and "async" ([2]) through
 * sio_emit_async; "ask" makes it ask "question" ([3]) through sio_emit_ack and emit "answer"
 * with the client's answer. "slots" answers whether every data slot reads back. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/sio.h"

static sio_io *io;
static int app_tag, io_tag, nsp_tag, socket_tag, req_tag;

static void on_ack_raw(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_ack_raw(ack, "[\"raw\"]");
}
static void on_ack_value(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  json_t *v = json_pack("[s]", "value");
  sio_ack_value(ack, v);
  json_decref(v);
}
static void on_ack_args(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_ack_args(ack, a);
}
static void on_ack_msg(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_msg *m = sio_msg_new(NULL);
  sio_msg_str(m, "msg");
  sio_ack_msg(ack, m);
}
static void on_op_emit(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  json_t *v = json_pack("[i]", 1);
  sio_op_emit(sio_socket_self_op(s), "op", v);
  json_decref(v);
}
static void on_async(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emit_async(io, "/", sio_id(s), "async", "[2]");
}
static void on_answer(sio_socket *s, int status, const sio_args *a, void *u) {
  if (status == 0) sio_emit_args(s, "answer", a);
}
static void on_ask(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emit_ack(s, "question", "[3]", 5000, on_answer, NULL);
}

/* The app's and the request's slots, read back over HTTP: GET /slots answers "1 1". */
static void on_http_slots(sio_req *req, sio_res *res, void *u) {
  sio_req_set_data(req, &req_tag);
  char body[16];
  snprintf(body, sizeof body, "%d %d", sio_app_data(sio_req_app(req)) == &app_tag,
           sio_res_data(res) == &req_tag);
  sio_res_text(res, body);
}

static void on_slots(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_nsp *nsp = sio_socket_nsp(s);
  int ok = sio_data(s) == &socket_tag && sio_socket_data(s) == &socket_tag &&
           sio_io_data(sio_socket_io(s)) == &io_tag && sio_nsp_data(nsp) == &nsp_tag &&
           sio_app_data(sio_io_app(sio_socket_io(s))) == &app_tag;
  sio_ack_sendf(ack, "b", ok);
}

static void on_connection(sio_socket *s, void *u) {
  sio_set_data(s, &socket_tag);
  sio_on(s, "ack_raw", on_ack_raw, NULL);
  sio_on(s, "ack_value", on_ack_value, NULL);
  sio_on(s, "ack_args", on_ack_args, NULL);
  sio_on(s, "ack_msg", on_ack_msg, NULL);
  sio_on(s, "op_emit", on_op_emit, NULL);
  sio_on(s, "async", on_async, NULL);
  sio_on(s, "ask", on_ask, NULL);
  sio_on(s, "slots", on_slots, NULL);
  json_t *v = json_pack("[s]", "generic");
  sio_emit(s, "hello", v); /* the deprecated generic name */
  json_decref(v);
}

int main(int argc, char **argv) {
  int port = argc == 3 && !strcmp(argv[1], "--port") ? atoi(argv[2]) : 0;
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.host = "127.0.0.1";
  ao.port = port;
  ao.port_any = port == 0;
  ao.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &ao);
  io = app ? sio_io_attach(app, NULL) : NULL;
  if (!io) return 1;
  sio_app_set_data(app, &app_tag);
  sio_io_set_data(io, &io_tag);
  /* Dynamic children start with their parent's data. */
  sio_nsp *dyn = sio_of_pattern(io, "/dyn-*");
  sio_nsp_set_data(dyn, &nsp_tag);
  sio_nsp_set_data(sio_of(io, "/"), &nsp_tag);
  sio_on_connection(io, on_connection, NULL);
  sio_on_connection(dyn, on_connection, NULL);
  sio_app_get(app, "/slots", on_http_slots, NULL);
  if (sio_app_listen(app)) return 1;
  printf("http://127.0.0.1:%d/\n", sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  sio_io_free(io);
  return 0;
}
