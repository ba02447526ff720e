/* The classic Redis adapter's broadcasts, requests and responses (see request.h), decoded from
 * and encoded to the bytes @socket.io/redis-adapter 8.3 publishes. Decoders read the message
 * into JSON text (wire.c) and check what Node's handlers would use; encoders write JSON in
 * index.ts's member order, or notepack msgpack where index.ts calls parser.encode. */
#include "cluster/request.h"

#include <errno.h>
#include <string.h>

#define R(x) SIO__RR_##x

/* ---- broadcasts ---- */

/* opts {rooms?, except?, flags?}; 0, or -1 when a member has the wrong type. */
static int read_opts(const char *t, sio__json_slice opts, sio__json_slice *rooms,
                     sio__json_slice *except, sio__json_slice *flags) {
  if (sio__wire_get(t, opts, "rooms", rooms) && !sio__wire_rooms_ok(t, *rooms)) return -1;
  if (sio__wire_get(t, opts, "except", except) && !sio__wire_rooms_ok(t, *except)) return -1;
  return sio__wire_get_typed(t, opts, "flags", SIO__JSON_OBJECT, flags) < 0 ? -1 : 0;
}

/* A packet object {type, data: [...], nsp?}; 0 or -1. */
static int read_packet(const char *t, sio__json_slice packet, sio__json_slice *data,
                       sio__json_slice *nsp) {
  if (packet.type != SIO__JSON_OBJECT) return -1;
  if (sio__wire_get_typed(t, packet, "data", SIO__JSON_ARRAY, data) != 1) return -1;
  return nsp && sio__wire_get_typed(t, packet, "nsp", SIO__JSON_STRING, nsp) < 0 ? -1 : 0;
}

static int read_broadcast(sio__redis_bcast *b) {
  const char *t = b->wire.text;
  sio__json_slice e[3], opts;
  sio__json_iter it;
  size_t n = 0;
  if (b->wire.top.type != SIO__JSON_ARRAY) return -1;
  sio__json_iter_init(&it, t + b->wire.top.off, b->wire.top.len);
  while (n < 3 && sio__json_iter_next(&it, &e[n])) e[n++].off += b->wire.top.off;
  if (n < 3 || e[0].type != SIO__JSON_STRING || e[2].type != SIO__JSON_OBJECT) return -1;
  b->uid = e[0], b->packet = e[1], opts = e[2];
  if (read_packet(t, b->packet, &b->packet_data, &b->nsp)) return -1;
  return read_opts(t, opts, &b->rooms, &b->except, &b->flags);
}

int sio__redis_decode_broadcast(sio__redis_bcast *b, const void *data, size_t n) {
  memset(b, 0, sizeof *b);
  if (n && *(const char *)data == '{') return SIO__CLUSTER_EFORMAT; /* notepack only */
  int rc = sio__wire_read(&b->wire, data, n);
  if (rc) return rc;
  return read_broadcast(b) ? SIO__CLUSTER_EFOREIGN : 0;
}

void sio__redis_bcast_free(sio__redis_bcast *b) {
  sio__wire_free(&b->wire);
}

static int put_strs_mp(sio__sbuf *out, const char *key, const char *const *v, size_t n) {
  int rc = sio__mp_put_str(out, key, strlen(key));
  if (!rc) rc = sio__mp_put_array(out, n);
  for (size_t i = 0; !rc && i < n; i++) rc = sio__mp_put_str(out, v[i], strlen(v[i]));
  return rc;
}

int sio__redis_encode_broadcast(sio__sbuf *out, const sio__redis_out *m) {
  if (!m->uid || !m->nsp || !m->json || (m->nrooms && !m->rooms) || (m->nexcept && !m->except))
    return -EINVAL;
  size_t mark = out->len;
  int rc = sio__mp_put_array(out, 3);
  if (!rc) rc = sio__mp_put_str(out, m->uid, strlen(m->uid));
  if (!rc)
    rc = sio__mp_put_event(out, m->json, m->json_len, m->nbins ? m->bins : NULL, m->nbins, m->nsp,
                           strlen(m->nsp));
  if (!rc) rc = sio__mp_put_map(out, m->flags ? 3 : 2);
  if (!rc) rc = put_strs_mp(out, "rooms", m->rooms, m->nrooms);
  if (!rc && !m->emitter_order) rc = put_strs_mp(out, "except", m->except, m->nexcept);
  if (!rc && m->flags) rc = sio__mp_put_str(out, "flags", 5);
  if (!rc && m->flags) rc = sio__mp_from_json(out, m->flags, strlen(m->flags), NULL, 0);
  if (!rc && m->emitter_order) rc = put_strs_mp(out, "except", m->except, m->nexcept);
  if (rc == -EINVAL) rc = SIO__CLUSTER_EFORMAT;
  if (rc) out->len = mark;
  return rc;
}

/* ---- requests ---- */

static int read_opts_form(sio__redis_req *r, const char *t, sio__json_slice top) {
  sio__json_slice opts;
  int has = sio__wire_get_typed(t, top, "opts", SIO__JSON_OBJECT, &opts);
  if (has < 0) return -1;
  r->has_opts = has;
  return has ? read_opts(t, opts, &r->rooms, &r->except, &r->flags) : 0;
}

/* The legacy one-socket form of 2-4: {requestId, sid, room | close}. */
static int read_legacy(sio__redis_req *r, const char *t, sio__json_slice top) {
  if (r->request_id.type != SIO__JSON_STRING) return -1;
  return sio__wire_get_typed(t, top, "sid", SIO__JSON_STRING, &r->sid) == 1 ? 0 : -1;
}

static int read_close(sio__redis_req *r, const char *t, sio__json_slice top) {
  sio__json_slice c;
  if (!sio__wire_get(t, top, "close", &c)) return 0;
  if (c.type != SIO__JSON_TRUE && c.type != SIO__JSON_FALSE) return -1;
  r->close = c.type == SIO__JSON_TRUE;
  return 0;
}

static int read_request(sio__redis_req *r, const char *t, sio__json_slice top) {
  int has_id = r->request_id.type == SIO__JSON_STRING;
  switch (r->type) {
  case R(SOCKETS):
    if (sio__wire_get(t, top, "rooms", &r->target) && !sio__wire_rooms_ok(t, r->target)) return -1;
    return has_id ? 0 : -1;
  case R(ALL_ROOMS):
    return has_id ? 0 : -1;
  case R(REMOTE_JOIN):
  case R(REMOTE_LEAVE):
    if (read_opts_form(r, t, top)) return -1;
    if (!r->has_opts) {
      if (!sio__wire_get(t, top, "room", &r->room)) return -1;
      if (r->room.type != SIO__JSON_STRING && r->room.type != SIO__JSON_NUMBER) return -1;
      return read_legacy(r, t, top);
    }
    return sio__wire_get(t, top, "rooms", &r->target) && sio__wire_rooms_ok(t, r->target) ? 0 : -1;
  case R(REMOTE_DISCONNECT):
    if (read_opts_form(r, t, top) || read_close(r, t, top)) return -1;
    return r->has_opts ? 0 : read_legacy(r, t, top);
  case R(REMOTE_FETCH):
    if (read_opts_form(r, t, top)) return -1;
    return has_id && r->has_opts ? 0 : -1;
  case R(SERVER_SIDE_EMIT):
    return sio__wire_get_typed(t, top, "data", SIO__JSON_ARRAY, &r->data) == 1 ? 0 : -1;
  case R(BROADCAST):
    if (!has_id || read_opts_form(r, t, top) || !r->has_opts) return -1;
    if (!sio__wire_get(t, top, "packet", &r->packet)) return -1;
    return read_packet(t, r->packet, &r->packet_data, NULL);
  default:
    return -1; /* 8 and 9 are responses */
  }
}

int sio__redis_decode_request(sio__redis_req *r, const void *data, size_t n) {
  memset(r, 0, sizeof *r);
  r->close = -1;
  int rc = sio__wire_read_typed(&r->wire, data, n, R(SOCKETS), R(BROADCAST_ACK), 1, &r->type);
  if (rc) return rc;
  const char *t = r->wire.text;
  sio__json_slice top = r->wire.top;
  if (sio__wire_get_typed(t, top, "uid", SIO__JSON_STRING, &r->uid) < 0 ||
      sio__wire_get_typed(t, top, "requestId", SIO__JSON_STRING, &r->request_id) < 0 ||
      read_request(r, t, top))
    return SIO__CLUSTER_EFOREIGN;
  return 0;
}

void sio__redis_req_free(sio__redis_req *r) {
  sio__wire_free(&r->wire);
}

static int first_member(sio__sbuf *j, const char *key, const char *value, int *first) {
  if (!value) return 0;
  sio__wire_put_key(j, key, *first);
  *first = 0;
  return sio__wire_put_str(j, value);
}

/* "opts":{"rooms":[...],"except":[...]} (with flags for BROADCAST) */
static void put_opts(sio__sbuf *j, const sio__redis_out *m, int flags) {
  sio__sbuf_appends(j, ",\"opts\":{\"rooms\":");
  sio__wire_put_strs(j, m->rooms, m->nrooms);
  sio__sbuf_appends(j, ",\"except\":");
  sio__wire_put_strs(j, m->except, m->nexcept);
  if (flags && m->flags) {
    sio__sbuf_appends(j, ",\"flags\":");
    sio__sbuf_appends(j, m->flags);
  }
  sio__sbuf_appendc(j, '}');
}

static int check_json(const char *s, size_t n, sio__json_type want) {
  sio__json_slice v;
  if (!s || sio__json_validate(s, n, SIO__MP_MESSAGE_DEPTH, &v)) return SIO__CLUSTER_EFORMAT;
  return want == SIO__JSON_INVALID || v.type == want ? 0 : SIO__CLUSTER_EFORMAT;
}

static int check_request(const sio__redis_out *m) {
  int t = m->type, rc = 0;
  if (t < R(ALL_ROOMS) || t > R(BROADCAST)) return -EINVAL;
  if ((t == R(ALL_ROOMS) || t == R(REMOTE_FETCH) || t == R(BROADCAST)) && !m->request_id)
    return -EINVAL;
  if ((m->nrooms && !m->rooms) || (m->nexcept && !m->except) || (m->njoin && !m->join))
    return -EINVAL;
  if (t == R(SERVER_SIDE_EMIT) || t == R(BROADCAST))
    rc = check_json(m->json, m->json_len, SIO__JSON_ARRAY);
  if (!rc && t == R(BROADCAST) && m->flags)
    rc = check_json(m->flags, strlen(m->flags), SIO__JSON_OBJECT);
  if (t == R(BROADCAST) && !m->nsp) rc = -EINVAL;
  return rc;
}

int sio__redis_encode_request(sio__sbuf *out, const sio__redis_out *m) {
  sio__sbuf j = SIO__SBUF_INIT;
  int first = 1, t = m->type, rc = check_request(m);
  if (rc) return rc;
  sio__sbuf_appendc(&j, '{');
  first_member(&j, "uid", m->uid, &first);
  if (t != R(REMOTE_JOIN) && t != R(REMOTE_LEAVE) && t != R(REMOTE_DISCONNECT))
    first_member(&j, "requestId", m->request_id, &first);
  sio__wire_put_key(&j, "type", first);
  sio__sbuf_printf(&j, "%d", t);
  if (t == R(BROADCAST)) {
    sio__sbuf_appends(&j, ",\"packet\":{\"type\":2,\"data\":");
    sio__sbuf_append(&j, m->json, m->json_len);
    sio__sbuf_appends(&j, ",\"nsp\":");
    sio__wire_put_str(&j, m->nsp);
    sio__sbuf_appendc(&j, '}');
  }
  if (t >= R(REMOTE_JOIN) && t != R(SERVER_SIDE_EMIT)) put_opts(&j, m, t == R(BROADCAST));
  if (t == R(REMOTE_JOIN) || t == R(REMOTE_LEAVE)) {
    sio__sbuf_appends(&j, ",\"rooms\":");
    sio__wire_put_strs(&j, m->join, m->njoin);
  }
  if (t == R(REMOTE_DISCONNECT) && m->close >= 0)
    sio__sbuf_appends(&j, m->close ? ",\"close\":true" : ",\"close\":false");
  if (t == R(SERVER_SIDE_EMIT)) {
    sio__sbuf_appends(&j, ",\"data\":");
    sio__sbuf_append(&j, m->json, m->json_len);
  }
  sio__sbuf_appendc(&j, '}');
  int bin = t == R(BROADCAST) && m->nbins;
  rc = sio__wire_finish(out, &j, bin ? m->bins : NULL, bin ? m->nbins : 0, t == R(BROADCAST));
  sio__sbuf_free(&j);
  return rc;
}

/* ---- responses ---- */

int sio__redis_decode_response(sio__redis_res *r, const void *data, size_t n) {
  memset(r, 0, sizeof *r);
  int rc = sio__wire_read_typed(&r->wire, data, n, R(SOCKETS), R(BROADCAST_ACK), 0, &r->type);
  if (rc) return rc;
  const char *t = r->wire.text;
  sio__json_slice top = r->wire.top;
  if (sio__wire_get_typed(t, top, "requestId", SIO__JSON_STRING, &r->request_id) != 1)
    return SIO__CLUSTER_EFOREIGN;
  if (sio__wire_get_typed(t, top, "sockets", SIO__JSON_ARRAY, &r->sockets) < 0)
    r->sockets.type = SIO__JSON_INVALID; /* Node ignores a response without a sockets array */
  if (sio__wire_get_typed(t, top, "rooms", SIO__JSON_ARRAY, &r->rooms) < 0)
    r->rooms.type = SIO__JSON_INVALID;
  if (r->type == R(SERVER_SIDE_EMIT)) sio__wire_get(t, top, "data", &r->value);
  if (r->type == R(BROADCAST_ACK)) sio__wire_get(t, top, "packet", &r->value);
  if (r->type == R(BROADCAST_CLIENT_COUNT) &&
      sio__wire_get_int(t, top, "clientCount", 0, INT32_MAX, &r->client_count) != 1)
    return SIO__CLUSTER_EFOREIGN;
  return 0;
}

void sio__redis_res_free(sio__redis_res *r) {
  sio__wire_free(&r->wire);
}

static int check_response(const sio__redis_out *m) {
  int t = m->type;
  if (t < R(SOCKETS) || t > R(BROADCAST_ACK) || t == R(BROADCAST) || !m->request_id) return -EINVAL;
  if (t == R(SOCKETS) || t == R(REMOTE_FETCH))
    return check_json(m->json, m->json_len, SIO__JSON_ARRAY);
  if (t == R(ALL_ROOMS) && m->njoin && !m->join) return -EINVAL;
  if ((t == R(SERVER_SIDE_EMIT) || t == R(BROADCAST_ACK)) && m->json)
    return check_json(m->json, m->json_len, SIO__JSON_INVALID);
  return 0;
}

int sio__redis_encode_response(sio__sbuf *out, const sio__redis_out *m) {
  sio__sbuf j = SIO__SBUF_INIT;
  int t = m->type, typed = t == R(SERVER_SIDE_EMIT) || t >= R(BROADCAST_CLIENT_COUNT);
  int rc = check_response(m);
  if (rc) return rc;
  sio__sbuf_appendc(&j, '{');
  if (typed) sio__sbuf_printf(&j, "\"type\":%d,", t);
  sio__wire_put_key(&j, "requestId", 1);
  sio__wire_put_str(&j, m->request_id);
  if (t == R(SOCKETS) || t == R(REMOTE_FETCH)) {
    sio__sbuf_appends(&j, ",\"sockets\":");
    sio__sbuf_append(&j, m->json, m->json_len);
  } else if (t == R(ALL_ROOMS)) {
    sio__sbuf_appends(&j, ",\"rooms\":");
    sio__wire_put_strs(&j, m->join, m->njoin);
  } else if (t == R(BROADCAST_CLIENT_COUNT)) {
    sio__sbuf_printf(&j, ",\"clientCount\":%lld", (long long)m->client_count);
  } else if ((t == R(SERVER_SIDE_EMIT) || t == R(BROADCAST_ACK)) && m->json) {
    sio__wire_put_key(&j, t == R(BROADCAST_ACK) ? "packet" : "data", 0);
    sio__sbuf_append(&j, m->json, m->json_len);
  }
  sio__sbuf_appendc(&j, '}');
  int ack = t == R(BROADCAST_ACK);
  rc = sio__wire_finish(out, &j, ack && m->nbins ? m->bins : NULL, ack ? m->nbins : 0, ack);
  sio__sbuf_free(&j);
  return rc;
}
