/* sio-loadgen scale.c: what a held sio-idle run does when bench/scale signals it.
 *
 * - SIGUSR1: one broadcast. The first READY client emits 42["bcast","<stamp><id>"]; the bench
 *   server answers with io.emit("bcast", m), so every client of that server (bench/scale puts
 *   each loadgen process on its own server) gets it. Once every READY client here has it, or
 *   after --bcast-timeout s, one line goes to stdout:
 *     BCAST got=N of=M sent_ns=T0 first_ns=T1 last_ns=T2
 *   (CLOCK_MONOTONIC, shared by every process: the caller takes max(last) - min(sent)).
 * - SIGUSR2: the echo phase. The first --active READY clients each emit 42["echo","<stamp>"]
 *   every --active-interval s (their phases spread evenly over the interval) for
 *   --active-duration s; the replies' latencies go to the histogram. Two seconds after the
 *   end, one line and the histogram (so that processes can be merged):
 *     ECHO active=K sent=S got=G p50_us=.. p99_us=.. max_us=..
 *     HIST <bucket value, us> <count>      (one per non-empty bucket)
 * The handlers only set flags; lg_scale_tick acts on them in the loop. */
#include "loadgen.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t want_bcast, want_echo;

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    want_bcast = 1;
  else
    want_echo = 1;
}

void lg_scale_install(lg_ctx *x) {
  if (x->o.mode != LG_SIO_IDLE) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: epoll_wait returns at once */
  sigaction(SIGUSR2, &sa, NULL);
}

static lg_conn *first_ready(lg_ctx *x) {
  for (int i = 0; i < x->nconns; i++)
    if (x->conns[i].state == ST_READY) return &x->conns[i];
  return NULL;
}

static void send_stamped(lg_ctx *x, lg_conn *c, const char *event, uint64_t now) {
  char msg[64], hex[16];
  lg_put_hex64(hex, now);
  int n;
  if (!strcmp(event, "bcast")) {
    char id[16];
    lg_put_hex64(id, c->id);
    n = snprintf(msg, sizeof msg, "42[\"bcast\",\"%.16s%.8s\"]", hex, id + 8);
  } else {
    n = snprintf(msg, sizeof msg, "42[\"echo\",\"%.16s\"]", hex);
  }
  lg_send_frame(c, 0x1, msg, (size_t)n);
  lg_conn_flush(x, c);
}

static void start_bcast(lg_ctx *x, uint64_t now) {
  lg_scale *s = &x->sc;
  s->bc_sent = s->bc_first = s->bc_last = 0;
  s->bc_got = 0;
  s->bc_reported = false;
  s->bc_deadline = now + (uint64_t)(x->o.bcast_timeout * 1e9);
  lg_conn *c = first_ready(x);
  if (c) send_stamped(x, c, "bcast", now);
}

static void report_bcast(lg_ctx *x) {
  lg_scale *s = &x->sc;
  s->bc_reported = true;
  printf("BCAST got=%d of=%d sent_ns=%llu first_ns=%llu last_ns=%llu\n", s->bc_got, x->ready,
         (unsigned long long)s->bc_sent, (unsigned long long)s->bc_first,
         (unsigned long long)s->bc_last);
  fflush(stdout);
}

static void start_echo(lg_ctx *x, uint64_t now) {
  lg_scale *s = &x->sc;
  free(s->act);
  s->act = calloc((size_t)(x->o.active > 0 ? x->o.active : 1), sizeof *s->act);
  if (!s->act) lg_fatal("out of memory");
  s->nactive = 0;
  for (int i = 0; i < x->nconns && s->nactive < x->o.active; i++)
    if (x->conns[i].state == ST_READY) s->act[s->nactive++] = &x->conns[i];
  uint64_t interval = (uint64_t)(x->o.active_interval * 1e9);
  for (int k = 0; k < s->nactive; k++)
    s->act[k]->t_start = now + interval * (uint64_t)k / (uint64_t)s->nactive;
  memset(&x->hist, 0, sizeof x->hist);
  s->echo_sent = s->echo_got = 0;
  s->echo_end = now + (uint64_t)(x->o.active_duration * 1e9);
  s->echo_on = true;
}

static void report_echo(lg_ctx *x) {
  lg_scale *s = &x->sc;
  printf("ECHO active=%d sent=%llu got=%llu p50_us=%.1f p99_us=%.1f max_us=%.1f\n", s->nactive,
         (unsigned long long)s->echo_sent, (unsigned long long)s->echo_got,
         lg_hist_pct_us(&x->hist, 50), lg_hist_pct_us(&x->hist, 99), lg_hist_pct_us(&x->hist, 100));
  lg_hist_print(&x->hist, stdout, "HIST");
  fflush(stdout);
}

static void echo_due(lg_ctx *x, uint64_t now) {
  lg_scale *s = &x->sc;
  uint64_t interval = (uint64_t)(x->o.active_interval * 1e9);
  if (now < s->echo_end) {
    for (int k = 0; k < s->nactive; k++) {
      lg_conn *c = s->act[k];
      if (c->state != ST_READY || c->t_start > now) continue;
      send_stamped(x, c, "echo", now);
      s->echo_sent++;
      c->t_start += interval;
      if (c->t_start < now) c->t_start = now + interval; /* fell behind: do not burst */
    }
  } else if (now >= s->echo_end + 2000000000u) { /* two seconds for the last replies */
    s->echo_on = false;
    report_echo(x);
  }
}

void lg_scale_tick(lg_ctx *x) {
  if (x->o.mode != LG_SIO_IDLE || x->phase != PH_HOLD) return;
  uint64_t now = lg_now_ns();
  if (want_bcast) {
    want_bcast = 0;
    start_bcast(x, now);
  }
  if (want_echo) {
    want_echo = 0;
    start_echo(x, now);
  }
  lg_scale *s = &x->sc;
  if (s->bc_deadline && !s->bc_reported && now >= s->bc_deadline) report_bcast(x);
  if (s->echo_on) echo_due(x, now);
}

int lg_scale_wait_ms(const lg_ctx *x, int ms) {
  const lg_scale *s = &x->sc;
  if (!s->echo_on) return ms;
  uint64_t now = lg_now_ns(), next = s->echo_end;
  for (int k = 0; k < s->nactive; k++)
    if (s->act[k]->state == ST_READY && s->act[k]->t_start < next) next = s->act[k]->t_start;
  if (next <= now) return 0;
  uint64_t wait = (next - now + 999999) / 1000000;
  return wait < (uint64_t)ms ? (int)wait : ms;
}

static bool read_stamp(const uint8_t *p, size_t avail, uint64_t *v) {
  return avail >= 16 && lg_get_hex(p, 16, v);
}

void lg_scale_on_event(lg_ctx *x, lg_conn *c, const uint8_t *d, size_t len) {
  static const char echo[] = "[\"echo\",\"", bcast[] = "[\"bcast\",\"";
  lg_scale *s = &x->sc;
  uint64_t sent;
  (void)c;
  if (len >= sizeof bcast - 1 && !memcmp(d, bcast, sizeof bcast - 1)) {
    if (!read_stamp(d + sizeof bcast - 1, len - (sizeof bcast - 1), &sent)) return;
    if (!s->bc_sent || sent < s->bc_sent) s->bc_sent = sent;
    if (!s->bc_first) s->bc_first = x->now;
    s->bc_last = x->now;
    if (++s->bc_got >= x->ready && !s->bc_reported) report_bcast(x);
  } else if (len >= sizeof echo - 1 && !memcmp(d, echo, sizeof echo - 1)) {
    if (!read_stamp(d + sizeof echo - 1, len - (sizeof echo - 1), &sent)) return;
    s->echo_got++;
    lg_hist_add(&x->hist, x->now > sent ? x->now - sent : 0);
  }
}

void lg_scale_free(lg_ctx *x) {
  free(x->sc.act);
  x->sc.act = NULL;
}
