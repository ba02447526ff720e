/* The emitter's handles (see sio/emitter.h): an emitter is a key and a namespace on a shared
 * connection (conn.c); sio_emitter_of makes another on the same connection, which closes once
 * the last is freed and its messages are answered. The whole-namespace calls are an operator
 * with no rooms, as Emitter's methods are a fresh BroadcastOperator in Node. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "emitter/emitter_internal.h"

sio_emitter_opts sio_emitter_opts_default(void) {
  return (sio_emitter_opts){
      .key = "socket.io", .nsp = "/", .max_queued = SIO__EMITTER_DEFAULT_QUEUE};
}

/* A namespace name as emitter.of() takes it: "/" put in front when missing. */
static sio_emitter *emitter_new(sio__emitter_conn *c, const char *key, const char *nsp) {
  sio_emitter *e = sio__calloc(1, sizeof *e);
  sio__sbuf n = SIO__SBUF_INIT;
  if (!e) return NULL;
  if (nsp[0] != '/') sio__sbuf_appendc(&n, '/');
  sio__sbuf_appends(&n, nsp);
  sio__sbuf_appendc(&n, 0);
  e->key = sio__strdup(key);
  e->nsp = n.oom ? NULL : sio__strdup(n.data);
  sio__sbuf_free(&n);
  if (!e->key || !e->nsp) {
    sio__free(e->key), sio__free(e->nsp), sio__free(e);
    return NULL;
  }
  e->conn = c;
  return e;
}

int sio_emitter_new(uv_loop_t *loop, const char *redis_url, const sio_emitter_opts *opts,
                    sio_emitter **out) {
  sio_emitter_opts o = opts ? *opts : sio_emitter_opts_default();
  sio__emitter_conn *c;
  if (!loop || !redis_url || !out) return -EINVAL;
  int rc = sio__emitter_conn_new(loop, redis_url, o.max_queued, &c);
  if (rc) return rc;
  *out = emitter_new(c, o.key ? o.key : "socket.io", o.nsp ? o.nsp : "/");
  if (!*out) {
    sio__emitter_conn_unref(c);
    return -ENOMEM;
  }
  return 0;
}

sio_emitter *sio_emitter_of(sio_emitter *e, const char *nsp) {
  if (!e || !nsp) return NULL;
  sio_emitter *child = emitter_new(e->conn, e->key, nsp);
  if (child) sio__emitter_conn_ref(e->conn);
  return child;
}

void sio_emitter_free(sio_emitter *e) {
  if (!e) return;
  sio__emitter_conn_unref(e->conn);
  sio__free(e->key), sio__free(e->nsp), sio__free(e);
}

const char *sio_emitter_strerror(int err) {
  return sio__redis_strerror(err);
}

int sio_emitter_is_ready(const sio_emitter *e) {
  return e && sio__emitter_conn_ready(e->conn);
}

int sio_emitter_flush(sio_emitter *e, sio_emitter_done_fn fn, void *user) {
  return e ? sio__emitter_conn_flush(e->conn, fn, user) : -EINVAL;
}

void sio__emitter_set_tap(sio_emitter *e, sio__emitter_tap_fn fn, void *user) {
  sio__emitter_conn_tap(e->conn, fn, user);
}

/* ---- the whole namespace ---- */

int sio_emitter_emit_raw(sio_emitter *e, const char *event, const char *args_json) {
  return sio_emitter_op_emit_raw(sio_emitter_op_new(e), event, args_json);
}

int sio_emitter_emitf(sio_emitter *e, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_emitter_op_vemitf(sio_emitter_op_new(e), event, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_emitter_emit_value(sio_emitter *e, const char *event, const json_t *args_array) {
  return sio_emitter_op_emit_value(sio_emitter_op_new(e), event, args_array);
}

int sio_emitter_emit_bin(sio_emitter *e, const char *event, const void *data, size_t len) {
  return sio_emitter_op_emit_bin(sio_emitter_op_new(e), event, data, len);
}

int sio_emitter_sockets_join(sio_emitter *e, const char *room) {
  return sio_emitter_op_sockets_join(sio_emitter_op_new(e), room);
}

int sio_emitter_sockets_leave(sio_emitter *e, const char *room) {
  return sio_emitter_op_sockets_leave(sio_emitter_op_new(e), room);
}

int sio_emitter_disconnect_sockets(sio_emitter *e, int close) {
  return sio_emitter_op_disconnect_sockets(sio_emitter_op_new(e), close);
}

int sio_emitter_server_side_emit_raw(sio_emitter *e, const char *args_json) {
  return sio__emitter_server_side_emit(e, args_json);
}

int sio_emitter_server_side_emit_value(sio_emitter *e, const json_t *args_array) {
  sio__sbuf t = SIO__SBUF_INIT;
  if (!json_is_array(args_array)) return -EINVAL;
  int rc = sio__json_dump_jansson(&t, args_array) || sio__sbuf_appendc(&t, 0) ? -ENOMEM : 0;
  if (!rc) rc = sio__emitter_server_side_emit(e, t.data);
  sio__sbuf_free(&t);
  return rc;
}

int sio_emitter_server_side_emitf(sio_emitter *e, const char *fmt, ...) {
  sio__sbuf f = SIO__SBUF_INIT;
  va_list ap;
  sio__sbuf_printf(&f, "[%s]", fmt ? fmt : "");
  va_start(ap, fmt);
  json_t *v = f.oom ? NULL : json_vpack_ex(NULL, 0, f.data, ap);
  va_end(ap);
  sio__sbuf_free(&f);
  if (!v) return -EINVAL;
  int rc = sio_emitter_server_side_emit_value(e, v);
  json_decref(v);
  return rc;
}

int sio_emitter_server_side_emit_ack(sio_emitter *e, const char *args_json, sio_emitter_ack_fn fn,
                                     void *user) {
  sio__warn("emitter: serverSideEmit with an acknowledgement: Acknowledgements are not supported");
  return -ENOTSUP;
}
