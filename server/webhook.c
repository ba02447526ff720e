/* sio-server's webhook: clients' events POSTed to the backend in batches,
 *   {"events": [{"nsp": "/", "socket": "<id>", "event": "chat", "args": [...], "time": ms}]}
 * at most webhook_batch per request, sent when that many are queued or webhook_interval ms after
 * the first. One request is in flight at a time (events stay in order); a failed one (not 2xx,
 * unreachable, timed out) is retried with backoff (250 ms doubling, at most 30 s) up to
 * webhook_retries times, then its events are dropped and counted. The queue holds at most
 * webhook_queue events: past it new events are dropped and counted (sio_webhook_dropped_total),
 * so a backend that is down costs bounded memory. Binary arguments arrive as their
 * {"_placeholder":true,"num":N} JSON (the bytes are not forwarded). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "server.h"

struct srv_webhook {
  srv *s;
  char **q; /* ring of events as JSON object texts */
  size_t cap, head, count;
  char *body; /* the batch in flight (or waiting for its retry), NULL if none */
  size_t body_events;
  int inflight;
  int attempt;
  int closing;
  uv_timer_t timer;
};

static void send_batch(srv_webhook *w);

static void on_timer(uv_timer_t *t) {
  send_batch(t->data);
}

static void arm(srv_webhook *w, uint64_t ms) {
  uv_timer_start(&w->timer, on_timer, ms, 0);
}

static void on_timer_closed(uv_handle_t *h) {
  srv_webhook *w = h->data;
  while (w->count) {
    free(w->q[w->head]);
    w->head = (w->head + 1) % w->cap;
    w->count--;
  }
  free(w->q);
  free(w->body);
  free(w);
}

/* Takes up to webhook_batch events into one body. */
static int take_batch(srv_webhook *w) {
  size_t n =
      w->count < (size_t)w->s->cfg.webhook_batch ? w->count : (size_t)w->s->cfg.webhook_batch;
  size_t len = 16;
  for (size_t i = 0; i < n; i++) len += strlen(w->q[(w->head + i) % w->cap]) + 1;
  char *b = malloc(len);
  if (!b) return -ENOMEM;
  size_t off = (size_t)sprintf(b, "{\"events\":[");
  for (size_t i = 0; i < n; i++) {
    char *e = w->q[w->head];
    off += (size_t)sprintf(b + off, "%s%s", i ? "," : "", e);
    free(e);
    w->head = (w->head + 1) % w->cap;
    w->count--;
  }
  strcpy(b + off, "]}");
  w->body = b;
  w->body_events = n;
  w->attempt = 0;
  return 0;
}

static void answered(int status, const char *body, size_t len, void *user) {
  (void)body, (void)len;
  srv_webhook *w = user;
  srv *s = w->s;
  w->inflight = 0;
  if (w->closing) {
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    return;
  }
  if (status >= 200 && status < 300) {
    s->n.webhook_sent++;
  } else {
    s->n.webhook_failed++;
    if (w->attempt < s->cfg.webhook_retries) {
      uint64_t ms = 250u << (w->attempt < 7 ? w->attempt : 7);
      w->attempt++;
      srv_log(SIO_LOG_WARN, "webhook %s: %s; retry %d in %llu ms", s->cfg.webhook,
              status > 0 ? "not a 2xx answer" : uv_strerror(status), w->attempt,
              (unsigned long long)(ms > 30000 ? 30000 : ms));
      arm(w, ms > 30000 ? 30000 : ms);
      return;
    }
    srv_log(SIO_LOG_ERROR, "webhook %s: gave up after %d retries, %zu events dropped",
            s->cfg.webhook, w->attempt, w->body_events);
    s->n.webhook_dropped += w->body_events;
  }
  free(w->body);
  w->body = NULL;
  if (w->count)
    arm(w, w->count >= (size_t)s->cfg.webhook_batch ? 0 : (uint64_t)s->cfg.webhook_interval);
}

static void send_batch(srv_webhook *w) {
  srv *s = w->s;
  if (w->inflight || w->closing) return;
  if (!w->body && (!w->count || take_batch(w))) return;
  int rc = srv_http_post(s->loop, s->cfg.webhook, NULL, w->body, strlen(w->body),
                         (uint32_t)s->cfg.webhook_timeout, answered, w);
  if (rc) {
    w->inflight = 1;
    answered(rc, NULL, 0, w); /* counted and retried as any failure */
    return;
  }
  w->inflight = 1;
}

int srv_webhook_new(srv *s) {
  if (!s->cfg.webhook || !*s->cfg.webhook) return 0;
  srv_webhook *w = calloc(1, sizeof *w);
  if (!w) return -ENOMEM;
  w->s = s;
  w->cap = (size_t)s->cfg.webhook_queue;
  if (!(w->q = calloc(w->cap, sizeof *w->q))) {
    free(w);
    return -ENOMEM;
  }
  uv_timer_init(s->loop, &w->timer);
  w->timer.data = w;
  uv_unref((uv_handle_t *)&w->timer);
  s->webhook = w;
  return 0;
}

static char *event_json(const char *nsp, const char *sid, const char *event, const char *args,
                        size_t args_len) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "nsp", nsp, "socket", sid, "event", event, "args",
                        "", "time", (json_int_t)srv_now_ms());
  char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  char *mark = t ? strstr(t, "\"args\":\"\"") : NULL;
  if (!mark) {
    free(t);
    return NULL;
  }
  /* the raw arguments in place of the empty string */
  size_t pre = (size_t)(mark - t) + 7, rest = strlen(mark + 9);
  char *e = malloc(pre + args_len + rest + 1);
  if (e) {
    memcpy(e, t, pre);
    memcpy(e + pre, args, args_len);
    memcpy(e + pre + args_len, mark + 9, rest + 1);
  }
  free(t);
  return e;
}

void srv_webhook_push(srv *s, const char *nsp, const char *sid, const char *event, const char *args,
                      size_t args_len) {
  srv_webhook *w = s->webhook;
  if (!w || w->closing) return;
  if (w->count >= w->cap) {
    s->n.webhook_dropped++;
    return;
  }
  char *e = event_json(nsp, sid, event, args, args_len);
  if (!e) {
    s->n.webhook_dropped++;
    return;
  }
  w->q[(w->head + w->count) % w->cap] = e;
  w->count++;
  s->n.webhook_events++;
  if (w->inflight || w->body) return; /* the answer schedules the next batch */
  if (w->count >= (size_t)s->cfg.webhook_batch)
    arm(w, 0);
  else if (!uv_is_active((uv_handle_t *)&w->timer))
    arm(w, (uint64_t)s->cfg.webhook_interval);
}

void srv_webhook_free(srv *s) {
  srv_webhook *w = s->webhook;
  if (!w) return;
  s->webhook = NULL;
  w->closing = 1;
  uv_timer_stop(&w->timer);
  if (!w->inflight) uv_close((uv_handle_t *)&w->timer, on_timer_closed);
}
