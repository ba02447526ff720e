/* Engine.IO long-polling transport: the held GET, POSTed payloads and the polling responses
 * (gzipped when the client accepts it and the payload is big enough).
 *
 * A session holds at most one GET and one POST at a time (a second one of either is answered
 * 500 and closes the session, as Node does). The held GET is answered as soon as packets wait
 * in `out`, or with a noop when an upgrade needs it released.
 *
 * Engine.IO v3 (allow_eio3), as Node's engine.io with its parser-v3: a POST is a text payload,
 * or an XHR2 binary payload when its Content-Type is application/octet-stream; a response is a
 * text payload unless the client takes binary and a binary packet waits, which makes it an
 * XHR2 binary payload (application/octet-stream). */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/log.h"

/* --- polling responses -------------------------------------------------------------------- */

static int gzip_into(const char *in, size_t n, sio__sbuf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = sio__zalloc;
  z.zfree = sio__zfree;
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -ENOMEM;
  size_t bound = deflateBound(&z, n);
  if (sio__sbuf_reserve(out, bound)) {
    deflateEnd(&z);
    return -ENOMEM;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out->data;
  z.avail_out = (uInt)bound;
  int rc = deflate(&z, Z_FINISH);
  out->len = bound - z.avail_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : -EIO;
}

void sio__eio_respond_payload(sio__eio_session *s, sio_res *res, sio__sbuf *body, int gzip,
                              int binary) {
  sio_res_status(res, 200);
  sio_res_set_header(res, "Content-Type",
                     binary ? "application/octet-stream" : "text/plain; charset=UTF-8");
  if (s->jsonp && !binary) { /* a script: ___eio[j]("payload"); (jsonp.c) */
    sio__sbuf js = SIO__SBUF_INIT;
    if (sio__eio_jsonp_wrap(s->jsonp, body->data ? body->data : "", body->len, &js) == 0) {
      sio__sbuf_free(body);
      *body = js;
    } else {
      sio__sbuf_free(&js);
      sio_res_status(res, 500);
      sio_res_send(res, "", 0);
      return;
    }
  }
  if (gzip && body->len >= s->eio->opts.compression_threshold) {
    sio__sbuf z = SIO__SBUF_INIT;
    if (gzip_into(body->data, body->len, &z) == 0) {
      sio_res_set_header(res, "Content-Encoding", "gzip");
      sio__sbuf_free(body);
      *body = z;
    } else {
      sio__sbuf_free(&z);
    }
  }
  size_t len = body->len;
  if (!len) {
    sio_res_send(res, "", 0);
    return;
  }
  sio__buf *b = sio__sbuf_to_buf(body);
  if (!b) {
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    return;
  }
  sio__res_send_buf(res, b, 0, len);
  sio__buf_unref(b);
}

/* Detaches the held GET (if any) and returns it. */
static sio_res *take_get(sio__eio_session *s) {
  sio_res *res = s->get_res;
  if (res) {
    sio_res_on_close(res, NULL, NULL);
    s->get_res = NULL;
  }
  return res;
}

void sio__eio_release_get(sio__eio_session *s, const char *payload) {
  sio_res *res = take_get(s);
  if (!res) return;
  sio__sbuf b = SIO__SBUF_INIT;
  if (s->v3) sio__sbuf_appends(&b, "1:"); /* one packet of one character */
  sio__sbuf_appends(&b, payload);
  sio__eio_respond_payload(s, res, &b, 0, 0);
  sio__eio_unref(s);
}

int sio__eio_poll_flush(sio__eio_session *s) {
  if (!s->get_res || !s->out.len) return 0;
  sio_res *res = take_get(s);
  sio__sbuf body = s->out;
  s->out = (sio__sbuf)SIO__SBUF_INIT;
  int gzip = s->get_gzip && s->out_compress, binary = s->v3 && !s->b64 && s->out_binary;
  s->out_compress = s->out_binary = 0;
  if (s->v3 && !s->b64 && !binary) { /* XHR2 records, all text: a text payload, as Node */
    sio__sbuf text = SIO__SBUF_INIT;
    if (sio__eio3_binary_to_text(body.data, body.len, &text) == 0) {
      sio__sbuf_free(&body);
      body = text;
    } else {
      sio__sbuf_free(&text);
      binary = 1; /* out of memory: the same packets, as a binary payload */
    }
  }
  sio__eio_respond_payload(s, res, &body, gzip, binary);
  sio__sbuf_free(&body);
  if (s->eio->h.drain && s->state == ST_OPEN) s->eio->h.drain(s, s->eio->user);
  sio__eio_unref(s);
  return 1;
}

/* --- polling requests --------------------------------------------------------------------- */

static void on_get_gone(sio_res *res, void *user) {
  sio__eio_session *s = user;
  if (s->get_res != res) return;
  s->get_res = NULL;
  if (s->state == ST_OPEN && s->transport == SIO_EIO_POLLING)
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
  else if (s->state == ST_CLOSING)
    sio__eio_close_session(s, SIO__EIO_REASON_FORCED_CLOSE);
  sio__eio_unref(s);
}

void sio__eio_poll_get(sio__eio_session *s, sio_req *req, sio_res *res) {
  if (s->get_res) {
    /* a second concurrent GET: Node answers it 500 and closes the session; the first gets 1 */
    sio__log(SIO_LOG_INFO, "engine.io: session %s: overlapping GET from client, closing", s->sid);
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    return;
  }
  sio__eio_ref(s);
  s->get_res = res;
  s->get_gzip = s->eio->opts.http_compression && sio_req_accepts_gzip(req);
  sio_res_on_close(res, on_get_gone, s);
  if (s->state == ST_CLOSING) {
    /* the final packets of a closed session */
    sio__eio_ref(s);
    sio__eio_poll_flush(s);
    sio__eio_close_session(s, SIO__EIO_REASON_FORCED_CLOSE);
    sio__eio_unref(s);
    return;
  }
  if (s->out.len) {
    sio__eio_poll_flush(s);
  } else if (s->upgrading) {
    sio__eio_release_get(s, "6");
  }
}

/* The packets of a POSTed payload, in order, until the session closes: 0 or -EINVAL when the
 * payload is malformed (what came before the bad record was handled, as Node's decoder). */
static int dispatch_v4(sio__eio_session *s, const char *body, size_t len) {
  sio__eio_payload_iter it;
  sio__eio_packet p;
  int rc;
  sio__eio_payload_init(&it, body, len);
  while ((rc = sio__eio_payload_next(&it, &p)) == 1)
    if (sio__eio_on_packet(s, &p)) break;
  sio__eio_payload_free(&it);
  return rc < 0 ? rc : 0;
}

static int dispatch_v3(sio__eio_session *s, sio_req *req, const char *body, size_t len) {
  const char *type = sio_req_header(req, "content-type");
  int binary = type && strcasecmp(type, "application/octet-stream") == 0;
  sio__eio3_payload_iter it;
  sio__eio_packet p;
  int rc;
  sio__eio3_payload_init(&it, body, len, binary);
  while ((rc = sio__eio3_payload_next(&it, &p)) == 1)
    if (sio__eio_on_packet(s, &p)) break;
  sio__eio3_payload_free(&it);
  return rc < 0 ? rc : 0;
}

/* The one callback of the POST's body read (sio_req_read_body's contract): it always comes,
 * with the body or an error, including SIO_STATUS_CLIENT_GONE when the connection ended
 * mid-body, and drops the reference sio__eio_poll_post took. */
static void on_post_body(sio_req *req, sio_res *res, int status, void *user) {
  sio__eio_session *s = user;
  if (s->posts) s->posts--;
  if (status == 413) { /* as Node's engine.io: the POST is refused, the session goes on */
    sio__log(SIO_LOG_WARN, "engine.io: session %s: POST body over maxHttpBufferSize (%zu): 413",
             s->sid, s->eio->opts.max_http_buffer_size);
    sio_res_status(res, 413);
    sio_res_end(res);
    sio__eio_unref(s);
    return;
  }
  if (status) {
    if (status == SIO_STATUS_CLIENT_GONE) /* Node: "data request connection closed
                                             prematurely", a transport error */
      sio__log(SIO_LOG_DEBUG, "engine.io: session %s: POST cut short by the client, closing",
               s->sid);
    sio_res_status(res, status);
    sio_res_send(res, "", 0);
    if (s->state == ST_OPEN) sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    sio__eio_unref(s);
    return;
  }
  size_t len;
  const char *body = sio_req_body(req, &len);
  sio__sbuf form = SIO__SBUF_INIT; /* a JSONP POST's payload (jsonp.c) */
  int jsonp = s->jsonp ? sio__eio_jsonp_post_data(body ? body : "", body ? len : 0, &form) : 1;
  if (s->jsonp) body = form.data ? form.data : "", len = form.len;
  if (s->state == ST_OPEN && jsonp < 0) {
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR); /* out of memory */
  } else if (s->state == ST_OPEN && jsonp) { /* (after an upgrade, a late POST still counts) */
    int rc;
    s->in_batch = 1;
    rc = s->v3 ? dispatch_v3(s, req, body ? body : "", body ? len : 0)
               : dispatch_v4(s, body ? body : "", body ? len : 0);
    s->in_batch = 0;
    if (rc < 0 && s->state == ST_OPEN) {
      sio__log(SIO_LOG_INFO, "engine.io: session %s: malformed payload, closing", s->sid);
      sio__eio_close_session(s, SIO__EIO_REASON_PARSE_ERROR);
    }
    if (s->state == ST_OPEN) sio__eio_poll_flush(s);
  }
  sio__sbuf_free(&form);
  sio_res_status(res, 200);
  sio_res_set_header(res, "Content-Type", "text/html");
  sio_res_send(res, "ok", 2);
  sio__eio_unref(s);
}

void sio__eio_poll_post(sio__eio_session *s, sio_req *req, sio_res *res) {
  if (s->state != ST_OPEN) {
    sio__eio_send_error(res, SIO__EIO_ERR_UNKNOWN_SID);
    return;
  }
  if (s->posts) {
    sio__log(SIO_LOG_INFO, "engine.io: session %s: overlapping POST from client, closing", s->sid);
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    return;
  }
  s->posts++;
  sio__eio_ref(s); /* dropped by on_post_body, which is always called once the read started */
  if (sio_req_read_body(req, res, s->eio->opts.max_http_buffer_size, on_post_body, s) < 0) {
    s->posts--;
    sio_res_status(res, 500);
    sio_res_send(res, "", 0);
    sio__eio_close_session(s, SIO__EIO_REASON_TRANSPORT_ERROR);
    sio__eio_unref(s);
  }
}
