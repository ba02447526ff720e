/* What the Redis client tests share: a loop and a redis-server per test (setup/teardown), an
 * event recorder for clients, reply recorders, and a log sink that counts the layer's lines
 * (a failure must be logged once, not per retry). */
#ifndef TESTS_UNIT_REDIS_CLIENT_FIXTURE_H
#define TESTS_UNIT_REDIS_CLIENT_FIXTURE_H
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "redis/redis.h"
#include "redis_server.h"

typedef struct fx {
  uv_loop_t loop;
  test_redis redis;
  char url[128];
  long live; /* sio allocations at setup */
} fx;

/* Events of one client. */
typedef struct events {
  int ready, down, last_err;
  volatile int flag; /* set on READY */
} events;

static inline void on_event(sio__redis *c, sio__redis_event ev, int err, void *user) {
  events *e = user;
  if (ev == SIO__REDIS_READY)
    e->ready++, e->flag = 1;
  else
    e->down++, e->last_err = err;
}

/* Log lines counted by what they say. */
static int log_failures, log_recoveries;
static inline void count_log(sio_log_level level, const char *line, void *user) {
  if (strstr(line, "retrying with backoff")) log_failures++;
  if (strstr(line, "again (Redis")) log_recoveries++;
}

static inline int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  uv_loop_init(&f->loop);
  if (test_redis_start(&f->redis)) return -1;
  snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", f->redis.port);
  log_failures = log_recoveries = 0;
  sio_log_set_sink(count_log, NULL);
  sio_log_set_level(SIO_LOG_INFO);
  f->live = sio__alloc_live();
  *state = f;
  return 0;
}

static inline void fx_close_handle(uv_handle_t *h, void *open) {
  if (!uv_is_closing(h)) ++*(int *)open, uv_close(h, NULL);
}

static inline int fx_teardown(void **state) {
  fx *f = *state;
  test_redis_stop(&f->redis);
  /* A failed test's clients (their callbacks' data was on its stack: no loop run before) */
  int open = 0;
  uv_walk(&f->loop, fx_close_handle, &open);
  uv_run(&f->loop, UV_RUN_DEFAULT); /* and the freed clients' handles close */
  int closed = uv_loop_close(&f->loop);
  long leaked = sio__alloc_live() - f->live;
  sio_log_set_sink(NULL, NULL);
  free(f);
  if (closed || leaked)
    fprintf(stderr, "teardown: loop_close %d, %ld allocations live\n", closed, leaked);
  if (open) fprintf(stderr, "teardown: %d handles left open\n", open);
  return closed || leaked || open ? -1 : 0;
}

static inline sio__redis *fx_client(fx *f, const char *url, events *ev,
                                    sio__redis_message_cb on_msg, void *user) {
  sio__redis_opts o = {.name = on_msg ? "sub" : "cmd",
                       .on_event = on_event,
                       .on_message = on_msg,
                       .user = user ? user : ev};
  sio__redis *c = NULL;
  if (sio__redis_new(&f->loop, url ? url : f->url, &o, &c)) return NULL;
  return c;
}

/* One reply, copied. */
typedef struct answer {
  int status, type, n;
  long long integer;
  char str[256];
  size_t len;
} answer;

static inline void on_answer(sio__redis *c, int status, const redisReply *r, void *user) {
  answer *a = user;
  a->status = status;
  a->n++;
  if (!r) return;
  a->type = r->type;
  a->integer = r->integer;
  a->len = r->len < sizeof a->str ? r->len : sizeof a->str - 1;
  if (r->str) memcpy(a->str, r->str, a->len);
  a->str[a->len] = 0;
}

/* Issues a command and runs the loop until it is answered. */
static inline answer fx_call(fx *f, sio__redis *c, int argc, const char **argv,
                             const size_t *lens) {
  answer a = {0};
  if (sio__redis_command(c, argc, argv, lens, on_answer, &a)) {
    a.status = -1;
    return a;
  }
  test_run_until(&f->loop, &a.n, 3000);
  return a;
}
#endif
