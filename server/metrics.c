/* sio-server's operations endpoints: GET /healthz (JSON: ok, clients, Redis state) and GET
 * /metrics (Prometheus text format 0.0.4): clients and sockets now, connects, refusals,
 * disconnects by reason, Engine.IO messages and bytes in, packets and bytes out, broadcasts and
 * their fan-out, dropped volatile packets, slow-consumer disconnects, API requests by status
 * class, webhook counters and the event-loop lag (a 250 ms timer's lateness). Both are open
 * (no token): keep them off the public network, or behind the proxy's auth. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define LAG_PERIOD_MS 250

void srv_count_disconnect(srv *s, const char *reason) {
  srv_counters *n = &s->n;
  for (size_t i = 0; i < 16; i++) {
    if (!n->disconnect_reasons[i]) {
      /* reasons are the library's static strings; keep a copy in case one is not */
      n->disconnect_reasons[i] = strdup(reason);
      if (!n->disconnect_reasons[i]) break;
    }
    if (!strcmp(n->disconnect_reasons[i], reason)) {
      n->disconnects[i]++;
      return;
    }
  }
  n->disconnects_other++;
}

/* --- the text --------------------------------------------------------------------------------- */

typedef struct out {
  char *b;
  size_t len, cap;
  int failed;
} out;

static void put(out *o, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(o->b + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      o->failed = 1;
      return;
    }
    if ((size_t)n < o->cap - o->len) {
      o->len += (size_t)n;
      return;
    }
    size_t cap = o->cap * 2 + (size_t)n;
    char *nb = realloc(o->b, cap);
    if (!nb) {
      o->failed = 1;
      return;
    }
    o->b = nb, o->cap = cap;
  }
}

static void metric(out *o, const char *name, const char *type, const char *help, double v) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n%s %.12g\n", name, help, name, type, name, v);
}

static void disconnects(out *o, const srv_counters *n) {
  const char *name = "sio_disconnects_total";
  put(o, "# HELP %s Sockets disconnected, by reason.\n# TYPE %s counter\n", name, name);
  for (size_t i = 0; i < 16 && n->disconnect_reasons[i]; i++)
    put(o, "%s{reason=\"%s\"} %llu\n", name, n->disconnect_reasons[i],
        (unsigned long long)n->disconnects[i]);
  if (n->disconnects_other)
    put(o, "%s{reason=\"other\"} %llu\n", name, (unsigned long long)n->disconnects_other);
}

static size_t sockets_now(srv *s) {
  size_t total = 0;
  for (size_t i = 0; i < s->cfg.namespaces.n; i++) {
    sio_nsp *nsp =
        strcmp(s->cfg.namespaces.v[i], "*") ? sio_nsp_find(s->io, s->cfg.namespaces.v[i]) : NULL;
    if (nsp) total += sio_nsp_sockets_count(nsp);
  }
  return total;
}

static void write_metrics(srv *s, out *o) {
  sio_io_stats st;
  sio_io_get_stats(s->io, &st);
  const srv_counters *n = &s->n;
  metric(o, "sio_clients", "gauge", "Engine.IO connections open now.",
         (double)sio_io_clients_count(s->io));
  metric(o, "sio_sockets", "gauge", "Sockets connected now in the listed namespaces.",
         (double)sockets_now(s));
  metric(o, "sio_connects_total", "counter", "Sockets connected (past the auth checks).",
         (double)n->connects);
  metric(o, "sio_auth_refused_total", "counter", "Connections refused by JWT or the auth hook.",
         (double)n->refused);
  disconnects(o, n);
  metric(o, "sio_messages_in_total", "counter", "Engine.IO messages received from clients.",
         (double)st.messages_in);
  metric(o, "sio_bytes_in_total", "counter", "Bytes of those messages.", (double)st.bytes_in);
  metric(o, "sio_packets_out_total", "counter", "Socket.IO packets queued to clients.",
         (double)st.packets_out);
  metric(o, "sio_bytes_out_total", "counter", "Bytes of those packets.", (double)st.bytes_out);
  metric(o, "sio_broadcasts_total", "counter", "Broadcasts delivered by this server.",
         (double)st.broadcasts);
  metric(o, "sio_broadcast_recipients_total", "counter",
         "Clients the broadcasts were queued to (fan-out).", (double)st.broadcast_recipients);
  metric(o, "sio_volatile_dropped_total", "counter",
         "Volatile packets dropped (the client could not take them).", (double)st.volatile_dropped);
  metric(o, "sio_send_buffer_full_total", "counter",
         "Packets refused past the send-buffer limit (slow consumers).",
         (double)st.send_buffer_full);
  metric(o, "sio_api_emits_total", "counter", "Emits received on the publish API.",
         (double)n->api_emits);
  put(o, "# HELP sio_api_requests_total Publish API requests, by status class.\n"
         "# TYPE sio_api_requests_total counter\n");
  for (int k = 2; k < 6; k++)
    put(o, "sio_api_requests_total{code=\"%dxx\"} %llu\n", k,
        (unsigned long long)n->api_requests[k]);
  metric(o, "sio_api_rate_limited_total", "counter", "API requests refused with 429.",
         (double)n->api_rate_limited);
  metric(o, "sio_webhook_events_total", "counter", "Client events queued for the webhook.",
         (double)n->webhook_events);
  metric(o, "sio_webhook_requests_total", "counter", "Webhook batches delivered.",
         (double)n->webhook_sent);
  metric(o, "sio_webhook_failures_total", "counter", "Webhook attempts that failed.",
         (double)n->webhook_failed);
  metric(o, "sio_webhook_dropped_total", "counter",
         "Client events dropped (queue full or retries exhausted).", (double)n->webhook_dropped);
  metric(o, "sio_event_loop_lag_seconds", "gauge", "Lateness of the last loop-lag probe.",
         n->loop_lag_ms / 1000.0);
  metric(o, "sio_event_loop_lag_max_seconds", "gauge", "Largest loop lag seen.",
         n->loop_lag_max_ms / 1000.0);
  metric(o, "sio_uptime_seconds", "gauge", "Seconds since start.",
         (double)(srv_now_ms() - s->started_ms) / 1000.0);
}

static void on_metrics(sio_req *req, sio_res *res, void *user) {
  (void)req;
  out o = {.b = malloc(8192), .cap = 8192};
  if (!o.b) {
    sio_res_send_status(res, 503);
    return;
  }
  write_metrics(user, &o);
  if (o.failed) {
    free(o.b);
    sio_res_send_status(res, 503);
    return;
  }
  sio_res_set_header(res, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  sio_res_send(res, o.b, o.len);
  free(o.b);
}

static void on_healthz(sio_req *req, sio_res *res, void *user) {
  (void)req;
  srv *s = user;
  const char *redis = !s->redis ? "off" : sio_redis_adapter_ready(s->redis) ? "up" : "down";
  sio_res_jsonf(res, "{s:s,s:I,s:s,s:s}", "status", "ok", "clients",
                (json_int_t)sio_io_clients_count(s->io), "redis", redis, "version", sio_version());
}

/* --- event-loop lag -------------------------------------------------------------------------- */

static void on_lag(uv_timer_t *t) {
  srv *s = t->data;
  uv_update_time(s->loop);
  uint64_t now = uv_now(s->loop);
  double lag = now > s->lag_due ? (double)(now - s->lag_due) : 0;
  s->n.loop_lag_ms = lag;
  if (lag > s->n.loop_lag_max_ms) s->n.loop_lag_max_ms = lag;
  s->lag_due = now + LAG_PERIOD_MS;
  uv_timer_start(t, on_lag, LAG_PERIOD_MS, 0);
}

int srv_metrics_init(srv *s) {
  int rc = sio_app_get(s->app, "/metrics", on_metrics, s);
  if (!rc) rc = sio_app_get(s->app, "/healthz", on_healthz, s);
  if (rc) return rc;
  uv_timer_init(s->loop, &s->lag_timer);
  s->lag_timer.data = s;
  uv_unref((uv_handle_t *)&s->lag_timer);
  s->lag_due = uv_now(s->loop) + LAG_PERIOD_MS;
  return uv_timer_start(&s->lag_timer, on_lag, LAG_PERIOD_MS, 0);
}

void srv_metrics_close(srv *s) {
  uv_close((uv_handle_t *)&s->lag_timer, NULL);
  for (size_t i = 0; i < 16; i++) free((char *)s->n.disconnect_reasons[i]);
  memset(s->n.disconnect_reasons, 0, sizeof s->n.disconnect_reasons);
}
