/* recovery: a Socket.IO server with connection state recovery (sio/recovery.h), the sio side of
 * tests/interop/recovery.test.mjs (its Node twin: tests/interop/reference/recovery-server.mjs,
 * the same handlers on socket.io 4.8 with connectionStateRecovery).
 *
 *   recovery [--port N] [--window MS] [--max-packets N] [--run-middlewares] [--off]
 *            [--ping-interval MS] [--ping-timeout MS] [--redis URL [--stream-count N]]
 *
 * --redis URL: the sessions and packets live in Redis, through the Redis Streams adapter
 * (sio_redis_streams_adapter_new; Node's @socket.io/redis-streams-adapter, as the Node twin's
 * --redis), so that a client recovers on another server of the cluster (sio or Node) and
 * across a restart of this one (tests/interop/recovery-streams.test.mjs).
 *
 * Every event below answers its ack once done:
 *   whoami            -> {id, recovered, rooms (own room left out, sorted), data, mw}
 *   join(room)        -> socket.join(room)
 *   setData(v)        -> socket.data = v
 *   bcast(v)          -> io.emit("news", v)
 *   toRoom(room, v)   -> io.to(room).emit("news", v)
 *   direct(v)         -> socket.emit("news", v)
 *   vbcast(v)         -> io.volatile.emit("news", v)  (volatile: not stored)
 *   binary(n)         -> socket.emit("bin", <n bytes 0,1,2…>)
 *   ticks(ms, count)  -> io.emit("tick", i) for i = 1..count, one every ms
 * A middleware counts its runs (`mw` in whoami) and refuses a CONNECT whose auth has
 * "deny": true. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/cluster.h"
#include "sio/http.h"
#include "sio/io.h"
#include "sio/recovery.h"
#include "sio/redis.h"

static sio_io *io;
static long mw_runs;

typedef struct rooms_ctx {
  const char *own;
  json_t *arr;
} rooms_ctx;

static int collect_room(const char *room, void *user) {
  rooms_ctx *c = user;
  if (strcmp(room, c->own) != 0) json_array_append_new(c->arr, json_string(room));
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void on_whoami(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  rooms_ctx c = {sio_id(s), json_array()};
  sio_rooms(s, collect_room, &c);
  size_t n = json_array_size(c.arr);
  const char **names = calloc(n ? n : 1, sizeof(*names));
  for (size_t i = 0; i < n; i++) names[i] = json_string_value(json_array_get(c.arr, i));
  qsort(names, n, sizeof(*names), cmp_str);
  json_t *sorted = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(sorted, json_string(names[i]));
  free(names);
  json_decref(c.arr);
  json_error_t err;
  json_t *data = json_loads(sio_socket_data_json(s), JSON_DECODE_ANY, &err);
  json_t *res = json_pack("[{s:s, s:b, s:o, s:o, s:I}]", "id", sio_id(s), "recovered",
                          sio_socket_recovered(s), "rooms", sorted, "data",
                          data ? data : json_null(), "mw", (json_int_t)mw_runs);
  if (ack) sio_ack_send_value(ack, res);
  json_decref(res);
}

static void on_join(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  const char *room = sio_args_str(args, 0, NULL);
  if (room) sio_join(s, room);
  if (ack) sio_ack_send(ack);
}

static void on_set_data(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  size_t len;
  const char *json = sio_args_json(args, 0, &len);
  char *copy = json ? strndup(json, len) : NULL;
  sio_socket_set_data_json(s, copy);
  free(copy);
  if (ack) sio_ack_send(ack);
}

/* The first argument of args as a one-element array text, for an emit. */
static char *first_arg(const sio_args *args, size_t i) {
  size_t len;
  const char *json = sio_args_json(args, i, &len);
  if (!json) json = "null", len = 4;
  char *out = malloc(len + 3);
  out[0] = '[';
  memcpy(out + 1, json, len);
  out[len + 1] = ']';
  out[len + 2] = '\0';
  return out;
}

static void on_bcast(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  char *a = first_arg(args, 0);
  sio_emit_raw(io, "news", a);
  free(a);
  if (ack) sio_ack_send(ack);
}

static void on_to_room(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  const char *room = sio_args_str(args, 0, NULL);
  char *a = first_arg(args, 1);
  if (room) sio_emit_raw(sio_to(io, room), "news", a);
  free(a);
  if (ack) sio_ack_send(ack);
}

static void on_direct(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  char *a = first_arg(args, 0);
  sio_emit_raw(s, "news", a);
  free(a);
  if (ack) sio_ack_send(ack);
}

static void on_vbcast(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  char *a = first_arg(args, 0);
  sio_emit_raw(sio_volatile(io), "news", a);
  free(a);
  if (ack) sio_ack_send(ack);
}

static void on_binary(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  int64_t n = 0;
  sio_args_int(args, 0, &n);
  if (n < 0 || n > 65536) n = 0;
  unsigned char *b = malloc((size_t)n + 1);
  for (int64_t i = 0; i < n; i++) b[i] = (unsigned char)i;
  sio_emit_bin(s, "bin", b, (size_t)n);
  free(b);
  if (ack) sio_ack_send(ack);
}

typedef struct ticker {
  uv_timer_t t;
  int64_t i, count;
} ticker;

static void tick(uv_timer_t *t) {
  ticker *k = (ticker *)t;
  char arg[32];
  snprintf(arg, sizeof arg, "[%lld]", (long long)++k->i);
  sio_emit_raw(io, "tick", arg);
  if (k->i >= k->count) {
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
  }
}

static void on_ticks(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  int64_t ms = 10, count = 0;
  sio_args_int(args, 0, &ms);
  sio_args_int(args, 1, &count);
  if (count > 0 && ms > 0) {
    ticker *k = calloc(1, sizeof(*k));
    k->count = count;
    uv_timer_init(sio_io_loop(io), &k->t);
    uv_timer_start(&k->t, tick, (uint64_t)ms, (uint64_t)ms);
  }
  if (ack) sio_ack_send(ack);
}

static void middleware(sio_socket *s, sio_mw *mw, void *user) {
  mw_runs++;
  json_t *auth = sio_handshake_auth_json(s);
  int deny = auth && json_is_true(json_object_get(auth, "deny"));
  json_decref(auth);
  if (deny)
    sio_mw_fail(mw, "denied", NULL);
  else
    sio_mw_next(mw);
}

static void on_connection(sio_socket *s, void *user) {
  sio_on(s, "whoami", on_whoami, NULL);
  sio_on(s, "join", on_join, NULL);
  sio_on(s, "setData", on_set_data, NULL);
  sio_on(s, "bcast", on_bcast, NULL);
  sio_on(s, "toRoom", on_to_room, NULL);
  sio_on(s, "direct", on_direct, NULL);
  sio_on(s, "vbcast", on_vbcast, NULL);
  sio_on(s, "binary", on_binary, NULL);
  sio_on(s, "ticks", on_ticks, NULL);
}

int main(int argc, char **argv) {
  int port = 3000;
  sio_recovery_opts ro = sio_recovery_opts_default();
  sio_io_opts o = sio_io_opts_default();
  const char *redis = NULL;
  sio_redis_streams_opts so = sio_redis_streams_opts_default();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--window") && i + 1 < argc)
      ro.max_disconnection_duration_ms = (uint32_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--max-packets") && i + 1 < argc)
      ro.max_packets = (uint32_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--run-middlewares"))
      ro.skip_middlewares = 0;
    else if (!strcmp(argv[i], "--off"))
      ro.enabled = 0;
    else if (!strcmp(argv[i], "--ping-interval") && i + 1 < argc)
      o.ping_interval_ms = (uint32_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--ping-timeout") && i + 1 < argc)
      o.ping_timeout_ms = (uint32_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--redis") && i + 1 < argc)
      redis = argv[++i];
    else if (!strcmp(argv[i], "--stream-count") && i + 1 < argc)
      so.stream_count = (unsigned)atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: recovery [--port N] [--window MS] [--max-packets N] "
                      "[--run-middlewares] [--off] [--ping-interval MS] [--ping-timeout MS] "
                      "[--redis URL [--stream-count N]]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_redis_adapter *ra = NULL;
  if (redis) {
    int rc = sio_redis_streams_adapter_new(loop, redis, &so, &ra);
    if (rc) {
      fprintf(stderr, "recovery: %s\n", sio_redis_strerror(rc));
      return 1;
    }
    o.adapter = sio_redis_adapter_factory;
    o.adapter_arg = ra;
  }
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.host = "127.0.0.1";
  ao.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app || !(io = sio_io_attach(app, &o))) {
    fprintf(stderr, "recovery: cannot start\n");
    return 1;
  }
  sio_io_set_recovery(io, &ro);
  sio_io_use(io, middleware, NULL);
  sio_on_connection(io, on_connection, NULL);
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "recovery: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("http://127.0.0.1:%d/ (recovery %s%s)\n", sio_app_port(app), ro.enabled ? "on" : "off",
         ra ? ", redis streams" : "");
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  sio_redis_adapter_free(ra);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
