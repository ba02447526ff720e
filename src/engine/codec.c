/* Engine.IO v4 packet and payload codec: see codec.h. Strict: an empty packet, a type digit
 * outside 0-6, or binary data that is not base64 makes the whole payload malformed, which the
 * server answers by closing the session ("parse error"), as Node's engine.io does. */
#include "engine/codec.h"

#include <errno.h>
#include <string.h>

#include "core/codec.h"

int sio__eio_decode_text(const char *s, size_t n, sio__eio_packet *out) {
  if (n < 1 || s[0] < '0' || s[0] > '6') return -EINVAL;
  *out = (sio__eio_packet){(sio__eio_type)(s[0] - '0'), 0, s + 1, n - 1};
  return 0;
}

void sio__eio_payload_init(sio__eio_payload_iter *it, const char *s, size_t n) {
  it->s = s;
  it->n = n;
  it->pos = 0;
  it->done = 0;
  it->scratch = (sio__sbuf)SIO__SBUF_INIT;
}

void sio__eio_payload_free(sio__eio_payload_iter *it) {
  sio__sbuf_free(&it->scratch);
}

static int decode_binary(sio__eio_payload_iter *it, const char *b64, size_t len,
                         sio__eio_packet *out) {
  sio__sbuf_reset(&it->scratch);
  if (sio__sbuf_reserve(&it->scratch, len * 3 / 4 + 4)) return -ENOMEM;
  long got = len ? sio__base64_decode(it->scratch.data, b64, len) : 0;
  if (got < 0) return -EINVAL;
  it->scratch.len = (size_t)got;
  *out = (sio__eio_packet){SIO__EIO_MESSAGE, 1, it->scratch.data, (size_t)got};
  return 0;
}

int sio__eio_payload_next(sio__eio_payload_iter *it, sio__eio_packet *out) {
  if (it->done) return it->done < 0 ? it->done : 0;
  if (it->n == 0) return it->done = -EINVAL;
  const char *start = it->s + it->pos;
  const char *sep = memchr(start, SIO__EIO_SEP, it->n - it->pos);
  size_t len = sep ? (size_t)(sep - start) : it->n - it->pos;
  int rc;
  if (len > 0 && start[0] == 'b')
    rc = decode_binary(it, start + 1, len - 1, out);
  else
    rc = sio__eio_decode_text(start, len, out);
  if (rc) return it->done = rc;
  if (sep) {
    it->pos += len + 1;
  } else {
    it->pos = it->n;
    it->done = 1;
  }
  return 1;
}

long sio__eio_payload_count(const char *s, size_t n) {
  sio__eio_payload_iter it;
  sio__eio_packet p;
  long count = 0;
  int rc;
  sio__eio_payload_init(&it, s, n);
  while ((rc = sio__eio_payload_next(&it, &p)) == 1) count++;
  sio__eio_payload_free(&it);
  return rc < 0 ? rc : count;
}

int sio__eio_encode_message(sio__sbuf *out, const void *data, size_t len, int binary, int sep) {
  if (sep) sio__sbuf_appendc(out, SIO__EIO_SEP);
  if (binary) {
    size_t b64 = sio__base64_len(len);
    if (sio__sbuf_reserve(out, b64 + 2)) return -ENOMEM;
    out->data[out->len++] = 'b';
    out->len += sio__base64_encode(out->data + out->len, data, len, 0);
    out->data[out->len] = 0;
    return 0;
  }
  sio__sbuf_appendc(out, '4');
  return sio__sbuf_append(out, data, len);
}

int sio__eio_encode_packet(sio__sbuf *out, const sio__eio_packet *p, int sep) {
  if (p->binary) return sio__eio_encode_message(out, p->data, p->len, 1, sep);
  if (sep) sio__sbuf_appendc(out, SIO__EIO_SEP);
  sio__sbuf_appendc(out, (char)('0' + p->type));
  return sio__sbuf_append(out, p->data, p->len);
}

int sio__eio_encode_open(sio__sbuf *out, const char *sid, const char *const *upgrades,
                         size_t nupgrades, unsigned ping_interval, unsigned ping_timeout,
                         unsigned long long max_payload) {
  /* sids and transport names are URL-safe ASCII: no escaping needed (appends, not printf: this
   * runs once per connection) */
  sio__sbuf_reserve(out, 256); /* the whole packet, usually: one allocation */
  sio__sbuf_appends(out, "0{\"sid\":\"");
  sio__sbuf_appends(out, sid);
  return sio__eio_encode_open_tail(out, upgrades, nupgrades, ping_interval, ping_timeout,
                                   max_payload);
}

int sio__eio_encode_open_tail(sio__sbuf *out, const char *const *upgrades, size_t nupgrades,
                              unsigned ping_interval, unsigned ping_timeout,
                              unsigned long long max_payload) {
  sio__sbuf_appends(out, "\",\"upgrades\":[");
  for (size_t i = 0; i < nupgrades; i++) {
    if (i) sio__sbuf_appendc(out, ',');
    sio__sbuf_appendc(out, '"');
    sio__sbuf_appends(out, upgrades[i]);
    sio__sbuf_appendc(out, '"');
  }
  sio__sbuf_appends(out, "],\"pingInterval\":");
  sio__sbuf_append_u64(out, ping_interval);
  sio__sbuf_appends(out, ",\"pingTimeout\":");
  sio__sbuf_append_u64(out, ping_timeout);
  sio__sbuf_appends(out, ",\"maxPayload\":");
  sio__sbuf_append_u64(out, max_payload);
  sio__sbuf_appendc(out, '}');
  return out->oom ? -ENOMEM : 0;
}

static const char *const error_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

static const char *const error_json[] = {
    "{\"code\":0,\"message\":\"Transport unknown\"}",
    "{\"code\":1,\"message\":\"Session ID unknown\"}",
    "{\"code\":2,\"message\":\"Bad handshake method\"}",
    "{\"code\":3,\"message\":\"Bad request\"}",
    "{\"code\":4,\"message\":\"Forbidden\"}",
    "{\"code\":5,\"message\":\"Unsupported protocol version\"}",
};

const char *sio__eio_error_message(sio__eio_error code) {
  return (unsigned)code < 6 ? error_messages[code] : "Bad request";
}

const char *sio__eio_error_json(sio__eio_error code) {
  return (unsigned)code < 6 ? error_json[code] : error_json[3];
}
