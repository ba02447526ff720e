/* The handshake: io's allowRequest, decided asynchronously, and socket.handshake as one object.
 *
 *   handshake [--port N] [--tls-cert F --tls-key F]
 *
 * allowRequest looks at the handshake request's query: `deny=M` refuses it (with M as the
 * message, or Node's "Forbidden" when M is empty), `delay=N` gives the verdict N ms later (a
 * timer stands for a database lookup), anything else is accepted at once. On "/" and "/other"
 * a client may ask:
 *   "handshake" -> ack(socket.handshake)          (sio_handshake_value)
 *   "handshake-text" -> ack({text, time, xdomain}) (sio_handshake_json, _time, _xdomain)
 *   "allow-count" -> ack(how many times allowRequest was asked)
 * tests/interop/reference/handshake-server.mjs is its Node twin (socket.io 4.8), and
 * tests/interop/io-handshake.test.mjs compares the two. With a certificate it serves HTTPS and
 * wss, where socket.handshake.secure is true (tests/interop/tls.test.mjs). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sio/sio.h>
#include <sio/tls.h>

static uv_loop_t *loop;
static int asked; /* allowRequest calls */

/* --- allowRequest -------------------------------------------------------------------------- */

typedef struct later {
  uv_timer_t timer;
  sio_allow *allow;
  char *deny; /* the refusal's message, or NULL to accept */
  int refuse;
} later;

static void on_later_closed(uv_handle_t *h) {
  later *l = h->data;
  free(l->deny);
  free(l);
}

static void on_later(uv_timer_t *t) {
  later *l = t->data;
  /* the client may have left meanwhile: the verdict still frees the sio_allow */
  if (l->refuse)
    sio_allow_refuse(l->allow, l->deny && *l->deny ? l->deny : NULL);
  else
    sio_allow_accept(l->allow);
  uv_close((uv_handle_t *)t, on_later_closed);
}

static void allow_request(sio_req *req, sio_allow *allow, void *user) {
  asked++;
  const char *deny = sio_req_query(req, "deny"), *delay = sio_req_query(req, "delay");
  if (delay) {
    later *l = calloc(1, sizeof *l);
    if (!l) {
      sio_allow_refuse(allow, "out of memory");
      return;
    }
    l->allow = allow;
    l->refuse = deny != NULL;
    l->deny = deny ? strdup(deny) : NULL;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, on_later, (uint64_t)atoi(delay), 0);
    return;
  }
  if (deny)
    sio_allow_refuse(allow, *deny ? deny : NULL);
  else
    sio_allow_accept(allow);
}

/* --- socket.handshake ---------------------------------------------------------------------- */

static void on_handshake(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_sendf(ack, "o", sio_handshake_value(s)); /* "o" takes the reference */
}

static void on_handshake_text(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (!ack) return;
  size_t n = sio_handshake_json(s, NULL, 0);
  char *text = malloc(n + 1);
  if (!text) return;
  sio_handshake_json(s, text, n + 1);
  char time[128];
  sio_handshake_time(s, time, sizeof time);
  sio_ack_sendf(ack, "{s:s,s:s,s:b}", "text", text, "time", time, "xdomain",
                sio_handshake_xdomain(s));
  free(text);
}

static void on_allow_count(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_sendf(ack, "i", asked);
}

static void on_connection(sio_socket *s, void *u) {
  sio_on(s, "handshake", on_handshake, NULL);
  sio_on(s, "handshake-text", on_handshake_text, NULL);
  sio_on(s, "allow-count", on_allow_count, NULL);
}

int main(int argc, char **argv) {
  int port = 3000;
  sio_tls_opts tls = sio_tls_opts_default();
  for (int i = 1; i < argc; i += 2) { /* every option takes a value */
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v && !strcmp(a, "--port")) {
      port = atoi(v);
    } else if (v && !strcmp(a, "--tls-cert")) {
      tls.cert_file = v;
    } else if (v && !strcmp(a, "--tls-key")) {
      tls.key_file = v;
    } else {
      fprintf(stderr, "usage: handshake [--port N] [--tls-cert F --tls-key F]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.handle_signals = 1;
  if (tls.cert_file && tls.key_file) ao.tls = &tls;
  sio_app *app = sio_app_new(loop, &ao);
  sio_io_opts o = sio_io_opts_default();
  o.ping_interval_ms = 300;
  o.ping_timeout_ms = 200;
  o.cors_origin = "*";
  sio_io *io = app ? sio_io_attach(app, &o) : NULL;
  if (!io || sio_io_allow_request(io, allow_request, NULL) != 0) {
    fprintf(stderr, "handshake: cannot start\n");
    return 1;
  }
  sio_on_connection(io, on_connection, NULL);
  sio_on_connection(sio_of(io, "/other"), on_connection, NULL);
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "handshake: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("http://localhost:%d/ (Socket.IO at /socket.io/)\n", sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
