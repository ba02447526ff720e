/* msgpack: a Socket.IO server speaking the msgpack parser (sio/parser.h: npm
 * socket.io-msgpack-parser), with connection state recovery on; the sio side of
 * tests/interop/io-msgpack.test.mjs (its Node twin: tests/interop/reference/msgpack-server.mjs,
 * the same handlers on socket.io 4.8 with `parser: require("socket.io-msgpack-parser")`).
 *
 *   msgpack [--port N] [--json] [--ping-interval MS] [--ping-timeout MS]
 *
 * --json keeps the default parser (a msgpack client then cannot connect: the tests' control).
 * The namespaces "/" and "/ns" have the same events, each answering its ack:
 *   whoami               -> {id, recovered, nsp, auth}
 *   echo(...a)           -> ack(...a)                       (binary and all, as received)
 *   emit-back(...a)      -> socket.emit("back", ...a)        (stored: the offset comes last)
 *   types                -> ack(TYPES, <bytes 0 1 2 255>)   (values built here, in C)
 *   join(room)           -> socket.join(room)
 *   to-room(room, ...a)  -> nsp.to(room).emit("room", ...a)
 *   bcast(v)             -> nsp.emit("news", v)
 *   volatile(v)          -> nsp.volatile.emit("vol", v)    (not stored: no offset)
 *   ask(...a)            -> socket.timeout(2000).emit("ask", ...a, cb), then ack(...answer)
 *                           (ack("timeout") when the client does not answer)
 * A middleware on "/" refuses a CONNECT whose auth has "deny": true with the message "denied"
 * and the data {"reason":"asked","code":7}. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/handshake.h"
#include "sio/http.h"
#include "sio/io.h"
#include "sio/parser.h"
#include "sio/recovery.h"

/* The same text as TYPES in tests/interop/reference/msgpack-types.mjs. */
static const char TYPES[] =
    "{\"int\":42,\"neg\":-7,\"big\":1099511627776,\"neg64\":-1099511627776,\"u8\":200,"
    "\"i16\":-300,\"u32\":4000000000,\"float\":1.5,\"negf\":-0.25,\"tiny\":1e-7,"
    "\"str\":\"h\\u00e9llo w\\u00f6rld \\u2713\",\"long\":\"abcdefghijklmnopqrstuvwxyz0123456789\","
    "\"nul\":null,\"t\":true,\"f\":false,\"arr\":[1,[2,[3,[]]]],\"obj\":{\"a\":{\"b\":{\"c\":\"d\"}"
    "}},"
    "\"empty\":{}}";

static sio_io *io;

static void on_whoami(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  json_error_t err;
  const char *auth_text = sio_handshake_auth(s);
  json_t *auth = auth_text ? json_loads(auth_text, JSON_DECODE_ANY, &err) : NULL;
  json_t *res =
      json_pack("[{s:s, s:b, s:s, s:o}]", "id", sio_id(s), "recovered", sio_socket_recovered(s),
                "nsp", sio_nsp_name(sio_socket_nsp(s)), "auth", auth ? auth : json_object());
  if (ack) sio_ack_send_value(ack, res);
  json_decref(res);
}

static void on_echo(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  if (ack) sio_ack_send_args(ack, a);
}

static void on_emit_back(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  sio_emit_args(s, "back", a);
  if (ack) sio_ack_send(ack);
}

static void on_types(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  static const unsigned char bytes[] = {0, 1, 2, 255};
  sio_msg *m = sio_msg_new(NULL);
  sio_msg_raw(m, TYPES, sizeof TYPES - 1);
  sio_msg_bin(m, bytes, sizeof bytes);
  if (ack)
    sio_ack_send_msg(ack, m);
  else
    sio_msg_free(m);
}

static void on_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  const char *room = sio_args_str(a, 0, NULL);
  if (room) sio_join(s, room);
  if (ack) sio_ack_send(ack);
}

/* The arguments after the first, for an emit. */
static sio_msg *rest_of(const char *event, const sio_args *a) {
  sio_msg *m = sio_msg_new(event);
  size_t len;
  for (size_t i = 1; i < sio_args_count(a); i++) {
    const void *bin;
    if (sio_args_type(a, i) == SIO_T_BINARY && !sio_args_bin(a, i, &bin, &len)) {
      sio_msg_bin(m, bin, len);
    } else {
      const char *json = sio_args_json(a, i, &len);
      sio_msg_raw(m, json, len);
    }
  }
  return m;
}

static void on_to_room(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  const char *room = sio_args_str(a, 0, NULL);
  if (room) sio_emit_msg(sio_to(sio_socket_nsp(s), room), rest_of("room", a));
  if (ack) sio_ack_send(ack);
}

static void on_bcast(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  sio_emit_args(sio_socket_nsp(s), "news", a);
  if (ack) sio_ack_send(ack);
}

static void on_volatile(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  sio_emit_args(sio_volatile(sio_socket_nsp(s)), "vol", a);
  if (ack) sio_ack_send(ack);
}

/* The client's answer to "ask" goes back as the answer to the ack it asked with. */
static void on_answer(sio_socket *s, int status, const sio_args *answer, void *user) {
  sio_ack *ack = user;
  if (status == 0)
    sio_ack_send_args(ack, answer);
  else if (status == SIO_ETIMEDOUT)
    sio_ack_sendf(ack, "s", "timeout");
  else
    sio_ack_drop(ack);
}

static void on_ask(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  if (!ack) return;
  sio_msg *m = sio_msg_new("ask");
  sio_msg_args(m, a);
  sio_msg_ack(m, on_answer, ack, 2000);
  sio_ack_defer(ack);
  if (sio_emit_msg(s, m)) sio_ack_drop(ack);
}

static void on_connection(sio_socket *s, void *user) {
  sio_on(s, "whoami", on_whoami, NULL);
  sio_on(s, "echo", on_echo, NULL);
  sio_on(s, "emit-back", on_emit_back, NULL);
  sio_on(s, "types", on_types, NULL);
  sio_on(s, "join", on_join, NULL);
  sio_on(s, "to-room", on_to_room, NULL);
  sio_on(s, "bcast", on_bcast, NULL);
  sio_on(s, "volatile", on_volatile, NULL);
  sio_on(s, "ask", on_ask, NULL);
}

static void middleware(sio_socket *s, sio_mw *mw, void *user) {
  json_t *auth = sio_handshake_auth_json(s);
  int deny = auth && json_is_true(json_object_get(auth, "deny"));
  json_decref(auth);
  if (deny)
    sio_mw_fail(mw, "denied", "{\"reason\":\"asked\",\"code\":7}");
  else
    sio_mw_next(mw);
}

int main(int argc, char **argv) {
  int port = 3000, json = 0;
  sio_io_opts o = sio_io_opts_default();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--ping-interval") && i + 1 < argc)
      o.ping_interval_ms = (uint32_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--ping-timeout") && i + 1 < argc)
      o.ping_timeout_ms = (uint32_t)atol(argv[++i]);
    else {
      fprintf(stderr, "usage: msgpack [--port N] [--json] [--ping-interval MS] "
                      "[--ping-timeout MS]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.host = "127.0.0.1";
  ao.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app || !(io = sio_io_attach(app, &o))) {
    fprintf(stderr, "msgpack: cannot start\n");
    return 1;
  }
  if (!json) sio_io_set_parser(io, SIO_PARSER_MSGPACK);
  sio_recovery_opts ro = sio_recovery_opts_default();
  sio_io_set_recovery(io, &ro);
  sio_io_use(io, middleware, NULL);
  sio_on_connection(io, on_connection, NULL);
  sio_nsp_on_connection(sio_of(io, "/ns"), on_connection, NULL);
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "msgpack: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("http://127.0.0.1:%d/ (%s parser)\n", sio_app_port(app), json ? "default" : "msgpack");
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
