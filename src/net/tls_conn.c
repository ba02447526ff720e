/* A TLS connection: OpenSSL's record layer between the socket and the connection's handler.
 *
 * OpenSSL never sees the descriptor (no SSL_set_fd). Its BIO is a memory BIO of our own
 * (BIO_meth_new): reading, it returns the bytes of the window sio__tls_input set over the
 * ciphertext just read into the loop-wide read buffer; writing, it appends to the net's
 * tls_out, which the caller empties after each OpenSSL call. OpenSSL's BIO_s_mem would do the
 * same with a copy more each way and a buffer per connection that keeps its high-water size;
 * this one costs an idle connection nothing.
 *
 * Reading: the ciphertext is decrypted into the net's plaintext buffer and handed to on_data
 * (as a plain connection's bytes are, in the loop-wide buffer). A handler that pauses makes
 * the rest of the window wait in `kept` (the only per-connection buffer, and only then).
 * Writing: sio__conn_write queues plaintext as for a plain connection; the flush (after the
 * connection's read, else once per loop turn) encrypts it, small writes staged together into
 * full records, then sends the records at once from tls_out; only what the kernel does not take
 * is copied into `out`. While the socket is full the plaintext stays queued as it is (shared
 * buffers), not encrypted.
 * Closing sends close_notify after the queued data. Anything OpenSSL refuses (a failed
 * handshake, a bad record) is logged at debug with its reason, its alert is sent if it fits,
 * and the connection is closed: nothing else is spent on it.
 *
 * Plain HTTP on the TLS port (the first byte a letter, not a TLS record) gets a 400 in clear
 * text, as nginx's 497 page says it, then a close. */
#include "net/net_internal.h"
#include "net/tls.h"

#include "core/alloc.h"
#include "core/log.h"
#include "sio/core.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>

#define PLAIN_CAP     (64 * 1024)
#define STAGE_CAP     (16 * 1024) /* one full TLS record of plaintext */
#define ENCRYPT_ROUND (64 * 1024) /* plaintext encrypted per send while the socket takes it */

struct sio__tls {
  sio__conn *conn;
  sio__tls_ctx *ctx;
  SSL *ssl;        /* made with the first bytes */
  const char *win; /* the ciphertext OpenSSL reads next */
  size_t win_len;
  sio__sbuf out; /* ciphertext the kernel has not taken yet, from out_off */
  size_t out_off;
  sio__sbuf kept; /* ciphertext read while the handler had paused */
  unsigned handshaken : 1, notify_sent : 1, failed : 1, clear_answer : 1, resume_input : 1;
};

/* --- the BIO ---------------------------------------------------------------------------------- */
static int bio_write(BIO *b, const char *data, int len) {
  struct sio__tls *t = BIO_get_data(b);
  if (sio__sbuf_append(&t->conn->net->tls_out, data, (size_t)len) < 0) return -1;
  return len;
}

static int bio_read(BIO *b, char *out, int len) {
  struct sio__tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (t->win_len == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = (size_t)len < t->win_len ? (size_t)len : t->win_len;
  memcpy(out, t->win, n);
  t->win += n;
  t->win_len -= n;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

/* The net's buffers and BIO method, made with its first TLS connection. */
static int net_ready(sio__net *net) {
  if (net->tls_bio_method) return 0;
  net->tls_plain = sio__malloc(PLAIN_CAP);
  net->tls_stage = sio__malloc(STAGE_CAP);
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sio");
  if (!net->tls_plain || !net->tls_stage || !m || !BIO_meth_set_write(m, bio_write) ||
      !BIO_meth_set_read(m, bio_read) || !BIO_meth_set_ctrl(m, bio_ctrl) ||
      !BIO_meth_set_create(m, bio_create)) {
    BIO_meth_free(m);
    sio__tls_net_free(net);
    return -ENOMEM;
  }
  net->tls_bio_method = m;
  return 0;
}

void sio__tls_net_free(sio__net *net) {
  sio__free(net->tls_plain);
  sio__free(net->tls_stage);
  net->tls_plain = net->tls_stage = NULL;
  sio__sbuf_free(&net->tls_out);
  BIO_meth_free(net->tls_bio_method);
  net->tls_bio_method = NULL;
}

int sio__tls_attach(sio__conn *c, sio__tls_ctx *ctx) {
  if (net_ready(c->net) != 0) return -ENOMEM;
  struct sio__tls *t = sio__calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->conn = c;
  t->ctx = sio__tls_ctx_ref(ctx);
  c->tls = t;
  return 0;
}

void sio__tls_free(sio__conn *c) {
  struct sio__tls *t = c->tls;
  if (!t) return;
  SSL_free(t->ssl); /* and its BIO */
  sio__tls_ctx_unref(t->ctx);
  sio__sbuf_free(&t->out);
  sio__sbuf_free(&t->kept);
  sio__free(t);
  c->tls = NULL;
}

/* --- output ----------------------------------------------------------------------------------- */
/* What the last OpenSSL call wrote (handshake, tickets, alerts, close_notify) goes after the
 * connection's unsent ciphertext, for the flush. */
static int keep_output(sio__conn *c) {
  struct sio__tls *t = c->tls;
  sio__sbuf *o = &c->net->tls_out;
  int r = 0;
  if (o->oom) {
    r = -ENOMEM;
  } else if (o->len) {
    r = sio__sbuf_append(&t->out, o->data, o->len);
    if (r == 0) sio__conn_schedule_flush(c);
  }
  sio__sbuf_reset(o);
  o->oom = 0;
  return r;
}

size_t sio__tls_buffered(const sio__conn *c) {
  return c->tls->out.len - c->tls->out_off;
}

static void out_sent(struct sio__tls *t) {
  sio__sbuf_free(&t->out); /* an idle connection holds no output buffer */
  t->out_off = 0;
}

/* Sends bytes; 1 if all went, 0 if the socket is full (n set to what went), -1 if it failed. */
static int send_some(sio__conn *c, const char *data, size_t len, size_t *n) {
  *n = 0;
  while (*n < len) {
    ssize_t w = send(c->fd, data + *n, len - *n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
      *n += (size_t)w;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
  return 1;
}

/* The socket is full: wait for its writable edge. */
static void blocked(sio__conn *c) {
  c->write_blocked = 1;
  if (sio__poll_want_writable(c) != 0) sio__conn_abort(c);
}

/* Sends the kept ciphertext. 0 when it all went, -1 when the flush must stop. */
static int send_out(sio__conn *c) {
  struct sio__tls *t = c->tls;
  size_t n;
  int r = send_some(c, t->out.data + t->out_off, t->out.len - t->out_off, &n);
  t->out_off += n;
  if (r == 1) {
    out_sent(t);
    return 0;
  }
  if (r == 0)
    blocked(c);
  else
    sio__conn_abort(c);
  return -1;
}

/* Sends what the encryption just wrote to tls_out; what the kernel leaves is kept. */
static int send_fresh(sio__conn *c) {
  sio__sbuf *o = &c->net->tls_out;
  if (o->oom) {
    sio__sbuf_reset(o);
    o->oom = 0;
    sio__conn_abort(c);
    return -1;
  }
  size_t n;
  int r = send_some(c, o->data, o->len, &n);
  if (r == 0 && sio__sbuf_append(&c->tls->out, o->data + n, o->len - n) < 0) r = -1;
  sio__sbuf_reset(o);
  if (r == 1) return 0;
  if (r == 0)
    blocked(c);
  else
    sio__conn_abort(c);
  return -1;
}

/* SSL_get_error reads the thread's error queue, so it must be empty before each SSL call: every
 * failure path here empties it, and this catches anything left by other OpenSSL users on the
 * thread. Peeking first: ERR_clear_error walks all 16 slots of the queue every time, about five
 * times the cost of the peek, and it ran three times per batch of records. */
static void errors_cleared(void) {
  if (ERR_peek_error()) ERR_clear_error();
}

static int write_record(sio__conn *c, const void *data, size_t len) {
  size_t done;
  errors_cleared();
  if (SSL_write_ex(c->tls->ssl, data, len, &done) == 1 && done == len) return 0;
  sio__debug("tls: encrypting %zu bytes failed: %s", len,
             ERR_reason_error_string(ERR_peek_last_error()));
  ERR_clear_error();
  return -1;
}

/* Encrypts up to ENCRYPT_ROUND bytes from the front of the write queue into tls_out: writes
 * smaller than a record are staged together, bigger ones go straight from their buffer. */
static int encrypt_round(sio__conn *c) {
  struct sio__wq *wq = c->wq;
  char *stage = c->net->tls_stage;
  size_t staged = 0, total = 0;
  while (wq->head < wq->n && total < ENCRYPT_ROUND) {
    struct sio__wq_item *it = &wq->items[wq->head];
    const char *p = it->buf->data + it->off;
    if (staged == 0 && it->len >= STAGE_CAP) {
      size_t take = it->len < ENCRYPT_ROUND ? it->len : ENCRYPT_ROUND;
      if (write_record(c, p, take) != 0) return -1;
      total += take;
      sio__conn_consume(c, take);
      continue;
    }
    size_t take = STAGE_CAP - staged < it->len ? STAGE_CAP - staged : it->len;
    memcpy(stage + staged, p, take);
    staged += take;
    total += take;
    sio__conn_consume(c, take);
    if (staged == STAGE_CAP) {
      if (write_record(c, stage, staged) != 0) return -1;
      staged = 0;
    }
  }
  if (staged && write_record(c, stage, staged) != 0) return -1;
  return 0;
}

int sio__tls_wants_notify(const sio__conn *c) {
  const struct sio__tls *t = c->tls;
  return t && t->handshaken && !t->notify_sent && !t->failed && !t->clear_answer;
}

void sio__tls_flush(sio__conn *c) {
  struct sio__tls *t = c->tls;
  for (;;) {
    if (t->out.len > t->out_off && send_out(c) != 0) return;
    if (t->handshaken && c->wq && c->wq->head < c->wq->n) {
      if (encrypt_round(c) != 0) {
        sio__sbuf_reset(&c->net->tls_out);
        sio__conn_abort(c);
        return;
      }
      if (send_fresh(c) != 0) return;
      continue;
    }
    if (c->shutdown_after_flush && sio__tls_wants_notify(c)) {
      t->notify_sent = 1;
      errors_cleared();
      SSL_shutdown(t->ssl);
      ERR_clear_error();
      if (send_fresh(c) != 0) return;
      continue;
    }
    break;
  }
  sio__conn_flushed(c);
}

/* --- input ------------------------------------------------------------------------------------ */
static const char clear_400[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 46\r\nConnection: close\r\n\r\n"
    "The plain HTTP request was sent to HTTPS port\n";

static void log_failure(sio__conn *c, const char *what) {
  if (!sio__log_enabled(SIO_LOG_DEBUG)) return;
  char ip[64] = "?";
  int port = 0;
  sio__conn_peer(c, ip, sizeof ip, &port);
  unsigned long e = ERR_peek_last_error();
  const char *why = e ? ERR_reason_error_string(e) : NULL;
  sio__debug("tls: %s from %s port %d: %s", what, ip, port, why ? why : "connection error");
}

/* OpenSSL refused the peer's bytes: its alert goes out if the socket takes it, then close. */
static void failed(sio__conn *c) {
  struct sio__tls *t = c->tls;
  t->failed = 1;
  log_failure(c, t->handshaken ? "bad record" : "handshake failed");
  ERR_clear_error();
  size_t n; /* the alert, kept by keep_output */
  if (t->out.len > t->out_off) send_some(c, t->out.data + t->out_off, t->out.len - t->out_off, &n);
  sio__conn_abort(c);
}

/* The first bytes: plain HTTP gets its clear-text answer; a TLS record makes the SSL. */
static int start(sio__conn *c) {
  struct sio__tls *t = c->tls;
  unsigned char first = (unsigned char)t->win[0];
  if (first >= 'A' && first <= 'Z') {
    t->clear_answer = 1;
    sio__debug("tls: plain HTTP on the TLS port: answered 400");
    if (sio__sbuf_append(&t->out, clear_400, sizeof clear_400 - 1) < 0) {
      sio__conn_abort(c);
      return -1;
    }
    sio__conn_schedule_flush(c);
    sio__conn_close(c);
    return -1;
  }
  t->ssl = SSL_new(sio__tls_ctx_ssl_ctx(t->ctx));
  BIO *b = t->ssl ? BIO_new(c->net->tls_bio_method) : NULL;
  if (!b) {
    sio__conn_abort(c);
    return -1;
  }
  BIO_set_data(b, t);
  SSL_set_bio(t->ssl, b, b);
  SSL_set_accept_state(t->ssl);
  return 0;
}

/* Hands n bytes of plaintext to the handler; 1 if reading must stop (closed, paused, ended). */
static int deliver(sio__conn *c, size_t n) {
  if (n && !c->closing) c->handler->on_data(c, c->net->tls_plain, n);
  return c->closed || c->closing || c->paused || c->eof;
}

/* Decrypts the window, handing plaintext up as it comes (64 KiB at most at a time). */
static void decrypt(sio__conn *c) {
  struct sio__tls *t = c->tls;
  char *plain = c->net->tls_plain;
  size_t plen = 0;
  t->resume_input = 0;
  for (;;) {
    size_t got = 0;
    errors_cleared();
    int ok = SSL_read_ex(t->ssl, plain + plen, PLAIN_CAP - plen, &got);
    int err = ok ? SSL_ERROR_NONE : SSL_get_error(t->ssl, 0);
    if (keep_output(c) != 0) {
      sio__conn_abort(c);
      return;
    }
    if (!t->handshaken && SSL_is_init_finished(t->ssl)) t->handshaken = 1;
    if (ok) {
      plen += got;
      /* All read and nothing left inside OpenSSL: another call would only say WANT_READ, after
       * taking a record buffer and giving it back (SSL_MODE_RELEASE_BUFFERS). */
      if (t->win_len == 0 && !SSL_has_pending(t->ssl)) {
        deliver(c, plen);
        return;
      }
      if (plen < PLAIN_CAP) continue;
      int stop = deliver(c, plen);
      plen = 0;
      if (!stop) continue;
      t->resume_input = c->paused && !c->closed && !c->closing;
      return;
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      deliver(c, plen);
      return;
    }
    if (err == SSL_ERROR_ZERO_RETURN) { /* the peer's close_notify: the end of its input */
      if (!deliver(c, plen)) sio__conn_end_of_input(c, UV_EOF);
      return;
    }
    if (plen) deliver(c, plen);
    if (!c->closed) failed(c);
    return;
  }
}

/* Keeps what is left of the window when reading stopped early (paused). */
static void keep_rest(sio__conn *c) {
  struct sio__tls *t = c->tls;
  if (!t->resume_input || !t->win_len) return;
  if (sio__sbuf_append(&t->kept, t->win, t->win_len) < 0) sio__conn_abort(c);
  t->win_len = 0;
}

void sio__tls_input(sio__conn *c, const char *data, size_t len) {
  struct sio__tls *t = c->tls;
  if (t->failed || t->clear_answer || len == 0) return;
  if (t->kept.len) { /* paused input still waits: the new bytes go behind it */
    if (sio__sbuf_append(&t->kept, data, len) < 0) sio__conn_abort(c);
    return;
  }
  t->win = data;
  t->win_len = len;
  if (!t->ssl && start(c) != 0) return;
  decrypt(c);
  if (!c->closed) keep_rest(c);
  t->win_len = 0;
}

int sio__tls_has_input(const sio__conn *c) {
  return c->tls->resume_input || c->tls->kept.len > 0;
}

void sio__tls_input_kept(sio__conn *c) {
  struct sio__tls *t = c->tls;
  sio__sbuf kept = t->kept;
  t->kept = (sio__sbuf)SIO__SBUF_INIT;
  t->win = kept.data;
  t->win_len = kept.len;
  decrypt(c);
  if (!c->closed) keep_rest(c);
  t->win_len = 0;
  sio__sbuf_free(&kept);
}

/* --- what the layers above may ask -------------------------------------------------------- */
const char *sio__tls_version(const sio__conn *c) {
  return c->tls && c->tls->handshaken ? SSL_get_version(c->tls->ssl) : NULL;
}

long sio__tls_verify_result(const sio__conn *c) {
  return c->tls && c->tls->ssl ? SSL_get_verify_result(c->tls->ssl) : X509_V_OK;
}

void *sio__tls_peer_cert(const sio__conn *c) {
  return c->tls && c->tls->ssl ? SSL_get0_peer_certificate(c->tls->ssl) : NULL;
}

void *sio__tls_ssl(const sio__conn *c) {
  return c->tls ? c->tls->ssl : NULL;
}

void *sio__tls_cert_ref(void *x509) {
  return x509 && X509_up_ref(x509) == 1 ? x509 : NULL;
}

void sio__tls_cert_unref(void *x509) {
  X509_free(x509);
}
