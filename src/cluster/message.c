/* ClusterAdapter messages (socket.io-adapter 2.5), decoded from and encoded to the bytes Node's
 * sharded Redis adapter publishes (see message.h). Decoding reads the message into JSON text
 * (wire.c) and checks the fields each type needs; encoding writes the JSON text in Node's
 * member order and turns it into msgpack when binaries ride along. */
#include "cluster/message.h"

#include <errno.h>
#include <string.h>

#define T(x) SIO__CM_##x

static int has_opts(int type) {
  return type >= T(BROADCAST) && type <= T(FETCH_SOCKETS);
}

/* Types whose data Node may send as msgpack (ShardedRedisAdapter#encode's mayContainBinary). */
static int may_carry_binary(int type) {
  return type == T(BROADCAST) || type == T(FETCH_SOCKETS_RESPONSE) || type == T(SERVER_SIDE_EMIT) ||
         type == T(SERVER_SIDE_EMIT_RESPONSE) || type == T(BROADCAST_ACK);
}

static int needs_request_id(int type) {
  switch (type) {
  case T(FETCH_SOCKETS):
  case T(FETCH_SOCKETS_RESPONSE):
  case T(SERVER_SIDE_EMIT_RESPONSE):
  case T(BROADCAST_CLIENT_COUNT):
  case T(BROADCAST_ACK):
    return 1;
  default:
    return 0;
  }
}

/* ---- decoding ---- */

/* opts {rooms?, except?, flags?}: Node makes Sets of rooms and except (undefined is empty). */
static int decode_opts(sio__cluster_msg *m, const char *t, sio__json_slice data) {
  sio__json_slice opts;
  if (sio__wire_get_typed(t, data, "opts", SIO__JSON_OBJECT, &opts) != 1) return -1;
  if (sio__wire_get(t, opts, "rooms", &m->rooms) && !sio__wire_rooms_ok(t, m->rooms)) return -1;
  if (sio__wire_get(t, opts, "except", &m->except) && !sio__wire_rooms_ok(t, m->except)) return -1;
  if (sio__wire_get_typed(t, opts, "flags", SIO__JSON_OBJECT, &m->flags) < 0) return -1;
  return 0;
}

static int decode_close(sio__cluster_msg *m, const char *t, sio__json_slice data) {
  sio__json_slice c;
  if (!sio__wire_get(t, data, "close", &c)) return 0;
  if (c.type != SIO__JSON_TRUE && c.type != SIO__JSON_FALSE) return -1;
  m->close = c.type == SIO__JSON_TRUE;
  return 0;
}

static int decode_by_type(sio__cluster_msg *m, const char *t, sio__json_slice data) {
  switch (m->type) {
  case T(BROADCAST):
    if (sio__wire_get_typed(t, data, "packet", SIO__JSON_OBJECT, &m->packet) != 1) return -1;
    return sio__wire_get_typed(t, m->packet, "data", SIO__JSON_ARRAY, &m->packet_data) == 1 ? 0
                                                                                            : -1;
  case T(SOCKETS_JOIN):
  case T(SOCKETS_LEAVE):
    return sio__wire_get(t, data, "rooms", &m->join) && sio__wire_rooms_ok(t, m->join) ? 0 : -1;
  case T(DISCONNECT_SOCKETS):
    return decode_close(m, t, data);
  case T(FETCH_SOCKETS_RESPONSE):
    return sio__wire_get_typed(t, data, "sockets", SIO__JSON_ARRAY, &m->sockets) == 1 ? 0 : -1;
  case T(SERVER_SIDE_EMIT):
    return sio__wire_get_typed(t, data, "packet", SIO__JSON_ARRAY, &m->packet) == 1 ? 0 : -1;
  case T(SERVER_SIDE_EMIT_RESPONSE):
  case T(BROADCAST_ACK):
    sio__wire_get(t, data, "packet", &m->packet);
    return 0;
  case T(BROADCAST_CLIENT_COUNT):
    return sio__wire_get_int(t, data, "clientCount", 0, INT32_MAX, &m->client_count) == 1 ? 0 : -1;
  default:
    return 0;
  }
}

static int decode_data(sio__cluster_msg *m, const char *t, sio__json_slice top) {
  sio__json_slice data;
  if (m->type == T(INITIAL_HEARTBEAT) || m->type == T(HEARTBEAT) || m->type == T(ADAPTER_CLOSE))
    return 0;
  if (sio__wire_get_typed(t, top, "data", SIO__JSON_OBJECT, &data) != 1) return -1;
  int rid = sio__wire_get_typed(t, data, "requestId", SIO__JSON_STRING, &m->request_id);
  if (rid < 0 || (rid == 0 && needs_request_id(m->type))) return -1;
  if (has_opts(m->type) && decode_opts(m, t, data)) return -1;
  return decode_by_type(m, t, data);
}

int sio__cluster_decode(sio__cluster_msg *m, const void *data, size_t n) {
  memset(m, 0, sizeof *m);
  m->close = -1;
  int rc =
      sio__wire_read_typed(&m->wire, data, n, T(INITIAL_HEARTBEAT), T(ADAPTER_CLOSE), 1, &m->type);
  if (rc) return rc;
  const char *t = m->wire.text;
  sio__json_slice top = m->wire.top;
  if (sio__wire_get_typed(t, top, "uid", SIO__JSON_STRING, &m->uid) != 1 ||
      sio__wire_get_typed(t, top, "nsp", SIO__JSON_STRING, &m->nsp) != 1 || decode_data(m, t, top))
    return SIO__CLUSTER_EFOREIGN;
  return 0;
}

void sio__cluster_msg_free(sio__cluster_msg *m) {
  sio__wire_free(&m->wire);
}

/* ---- encoding ---- */

static int valid_json(const char *s, size_t n, sio__json_type want) {
  sio__json_slice v;
  if (!s || sio__json_validate(s, n, SIO__MP_MESSAGE_DEPTH, &v)) return 0;
  return want == SIO__JSON_INVALID || v.type == want;
}

static void put_opts(sio__sbuf *j, const sio__cluster_out *m, int first) {
  sio__wire_put_key(j, "opts", first);
  sio__sbuf_appends(j, "{\"rooms\":");
  sio__wire_put_strs(j, m->rooms, m->nrooms);
  sio__sbuf_appends(j, ",\"except\":");
  sio__wire_put_strs(j, m->except, m->nexcept);
  if (m->flags) {
    sio__sbuf_appends(j, ",\"flags\":");
    sio__sbuf_appends(j, m->flags);
  }
  sio__sbuf_appendc(j, '}');
}

static void put_request_id(sio__sbuf *j, const sio__cluster_out *m, int first) {
  sio__wire_put_key(j, "requestId", first);
  sio__wire_put_str(j, m->request_id);
}

static void put_json(sio__sbuf *j, const char *key, const sio__cluster_out *m) {
  sio__wire_put_key(j, key, 0);
  sio__sbuf_append(j, m->json, m->json_len);
}

/* Checks what this type needs: -EINVAL when a field is missing or not what it should be. */
static int check_out(const sio__cluster_out *m) {
  int t = m->type;
  if (t < T(INITIAL_HEARTBEAT) || t > T(ADAPTER_CLOSE) || !m->uid || !m->nsp) return -EINVAL;
  if (needs_request_id(t) && !m->request_id) return -EINVAL;
  if (m->flags && !valid_json(m->flags, strlen(m->flags), SIO__JSON_OBJECT)) return -EINVAL;
  if ((m->nrooms && !m->rooms) || (m->nexcept && !m->except) || (m->njoin && !m->join))
    return -EINVAL;
  sio__json_type want =
      t == T(BROADCAST) || t == T(SERVER_SIDE_EMIT) || t == T(FETCH_SOCKETS_RESPONSE)
          ? SIO__JSON_ARRAY
          : SIO__JSON_INVALID;
  int optional = t == T(SERVER_SIDE_EMIT_RESPONSE) || t == T(BROADCAST_ACK);
  if (want == SIO__JSON_ARRAY || (optional && m->json))
    return valid_json(m->json, m->json_len, want) ? 0 : SIO__CLUSTER_EFORMAT;
  return 0;
}

static void put_data(sio__sbuf *j, const sio__cluster_out *m) {
  switch (m->type) {
  case T(BROADCAST):
    sio__sbuf_appends(j, "\"packet\":{\"type\":2");
    put_json(j, "data", m);
    sio__sbuf_appendc(j, '}');
    if (m->request_id) put_request_id(j, m, 0);
    put_opts(j, m, 0);
    break;
  case T(SOCKETS_JOIN):
  case T(SOCKETS_LEAVE):
    put_opts(j, m, 1);
    sio__sbuf_appends(j, ",\"rooms\":");
    sio__wire_put_strs(j, m->join, m->njoin);
    break;
  case T(DISCONNECT_SOCKETS):
    put_opts(j, m, 1);
    if (m->close >= 0) sio__sbuf_appends(j, m->close ? ",\"close\":true" : ",\"close\":false");
    break;
  case T(FETCH_SOCKETS):
    put_opts(j, m, 1);
    put_request_id(j, m, 0);
    break;
  case T(SERVER_SIDE_EMIT):
    if (m->request_id) put_request_id(j, m, 1);
    if (!m->request_id)
      sio__sbuf_appends(j, "\"packet\":");
    else
      sio__sbuf_appends(j, ",\"packet\":");
    sio__sbuf_append(j, m->json, m->json_len);
    break;
  case T(BROADCAST_CLIENT_COUNT):
    put_request_id(j, m, 1);
    sio__sbuf_appends(j, ",\"clientCount\":");
    sio__sbuf_printf(j, "%lld", (long long)m->client_count);
    break;
  default: /* 8, 10, 12 */
    put_request_id(j, m, 1);
    if (m->json) put_json(j, m->type == T(FETCH_SOCKETS_RESPONSE) ? "sockets" : "packet", m);
  }
}

static int has_data(int type) {
  return type != T(INITIAL_HEARTBEAT) && type != T(HEARTBEAT) && type != T(ADAPTER_CLOSE);
}

int sio__cluster_encode(sio__sbuf *out, const sio__cluster_out *m) {
  sio__sbuf j = SIO__SBUF_INIT;
  int rc = check_out(m);
  if (rc) return rc;
  sio__sbuf_printf(&j, "{\"type\":%d", m->type);
  if (has_data(m->type)) {
    sio__sbuf_appends(&j, ",\"data\":{");
    put_data(&j, m);
    sio__sbuf_appendc(&j, '}');
  }
  sio__wire_put_key(&j, "uid", 0);
  sio__wire_put_str(&j, m->uid);
  sio__wire_put_key(&j, "nsp", 0);
  sio__wire_put_str(&j, m->nsp);
  sio__sbuf_appendc(&j, '}');
  int bin = may_carry_binary(m->type) && m->nbins;
  rc = sio__wire_finish(out, &j, bin ? m->bins : NULL, bin ? m->nbins : 0, m->msgpack);
  sio__sbuf_free(&j);
  return rc;
}

int sio__cluster_encode_data(sio__sbuf *out, const sio__cluster_out *m, int *msgpack) {
  sio__sbuf j = SIO__SBUF_INIT;
  int rc = check_out(m);
  *msgpack = 0;
  if (rc || !has_data(m->type)) return rc;
  sio__sbuf_appendc(&j, '{');
  put_data(&j, m);
  sio__sbuf_appendc(&j, '}');
  *msgpack = may_carry_binary(m->type) && m->nbins;
  rc = sio__wire_finish(out, &j, *msgpack ? m->bins : NULL, *msgpack ? m->nbins : 0, 0);
  sio__sbuf_free(&j);
  return rc;
}
