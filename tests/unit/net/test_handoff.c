/* Unit tests for moving a connection between workers (src/net/handoff.c, worker.c,
 * worker_data.c), with two workers in one process over one SEQPACKET socketpair, both on one
 * loop, and a Unix stream socketpair standing for the client's TCP connection:
 * - a connection is given away after its queued response left (the client reads the first
 *   worker's answer, then the second's), with the bytes already read handed over first and
 *   those still in the socket read by the new owner after them;
 * - a data message larger than a socket buffer crosses whole and in order, after a smaller one,
 *   while the receiving worker does not read (queued, then flushed on the writable edge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "net/net.h"
#include "net/worker.h"

typedef struct pair_state {
  uv_loop_t loop;
  sio__net *net_a, *net_b;
  sio_worker *w0, *w1;
  int client;         /* the client's end of the "TCP" connection */
  sio__sbuf b_got;    /* what worker 1's connection received, in order */
  int handed, closed; /* handoff callbacks run; connections of worker 1 closed */
} pair_state;

static pair_state *st_of(sio__conn *c) {
  return c->ctx;
}

/* Worker 0: answers the first request, then passes the connection on at the second. */
static void a_on_data(sio__conn *c, const char *d, size_t n);
static void b_on_data(sio__conn *c, const char *d, size_t n) {
  pair_state *st = st_of(c);
  sio__sbuf_append(&st->b_got, d, n);
  if (st->b_got.len >= strlen("pre-GET2 rest") && !strstr(st->b_got.data, "answered")) {
    sio__conn_write_copy(c, "second", 6);
    sio__sbuf_appends(&st->b_got, " answered");
  }
}
static void b_on_close(sio__conn *c) {
  st_of(c)->closed++;
}
static const sio__conn_handler b_handler = {b_on_data, NULL, NULL, b_on_close};

static void b_accept(sio__listener *l, sio__conn *c, void *user) {
  c->handler = &b_handler;
  c->ctx = user;
}

static void b_adopt(int fd, const sio__peer *peer, char *bytes, size_t len, void *user) {
  pair_state *st = user;
  sio__net_adopt(st->net_b, fd, peer, bytes, len, b_accept, st);
}

static void on_handed(int fd, const sio__peer *peer, const char *bytes, size_t len, void *user,
                      int tag) {
  pair_state *st = user;
  st->handed++;
  assert_int_equal(tag, 1);
  assert_int_equal(sio__worker_pass(st->w0, tag, fd, 80, peer, bytes, len), 0);
  close(fd);
}

static void a_on_data(sio__conn *c, const char *d, size_t n) {
  pair_state *st = st_of(c);
  if (n >= 4 && memcmp(d, "GET1", 4) == 0) {
    /* a response big enough to be still queued when the next request comes */
    static char big[256 * 1024];
    memset(big, 'x', sizeof big);
    big[0] = 'F';
    assert_int_equal(sio__conn_write_copy(c, big, sizeof big), 0);
    return;
  }
  assert_int_equal(sio__conn_handoff(c, "pre-", 4, d, n, on_handed, st, 1), 0);
}
static const sio__conn_handler a_handler = {a_on_data, NULL, NULL, NULL};

static void a_accept(sio__listener *l, sio__conn *c, void *user) {
  c->handler = &a_handler;
  c->ctx = user;
}

static void setup_pair(pair_state *st) {
  memset(st, 0, sizeof *st);
  assert_int_equal(uv_loop_init(&st->loop), 0);
  st->net_a = sio__net_new(&st->loop);
  st->net_b = sio__net_new(&st->loop);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int fds0[2] = {-1, sv[0]}, fds1[2] = {sv[1], -1};
  st->w0 = sio__worker_new(0, 2, fds0);
  st->w1 = sio__worker_new(1, 2, fds1);
  assert_non_null(st->w0);
  assert_non_null(st->w1);
  assert_int_equal(sio_worker_index(st->w1), 1);
  assert_int_equal(sio_worker_count(st->w1), 2);
}

static void teardown_pair(pair_state *st) {
  sio__worker_remove_app(st->w1, st);
  sio__worker_remove_app(st->w0, st);
  sio__worker_on_data(st->w0, NULL, NULL, NULL);
  sio__worker_on_data(st->w1, NULL, NULL, NULL);
  sio__net_free(st->net_a);
  sio__net_free(st->net_b);
  uv_run(&st->loop, UV_RUN_DEFAULT);
  sio__worker_free(st->w0);
  sio__worker_free(st->w1);
  assert_int_equal(uv_loop_close(&st->loop), 0);
  sio__sbuf_free(&st->b_got);
}

/* Runs the loop until cond or a bound of turns. */
#define RUN_UNTIL(st, cond)                                                                        \
  for (int turn_ = 0; turn_ < 20000 && !(cond); turn_++) uv_run(&(st)->loop, UV_RUN_NOWAIT)

static void test_handoff_after_queued_response(void **state) {
  pair_state st;
  setup_pair(&st);
  assert_int_equal(sio__worker_add_app(st.w1, &st.loop, 80, b_adopt, &st), 0);
  assert_int_equal(sio__worker_add_app(st.w0, &st.loop, 80, b_adopt, &st), 0); /* watched too */
  int cs[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, cs), 0);
  st.client = cs[0];
  sio__peer peer = {0};
  char first[] = "GET1";
  sio__net_adopt(st.net_a, cs[1], &peer, first, 4, a_accept, &st);
  /* the second request comes while the big response is still queued (the client has not
   * read): the handoff waits for it */
  assert_int_equal(write(st.client, "GET2", 4), 4);
  size_t got = 0, want = 256 * 1024;
  char buf[65536];
  sio__sbuf all = SIO__SBUF_INIT;
  for (int turn = 0; turn < 20000 && got < want + 6; turn++) {
    uv_run(&st.loop, UV_RUN_NOWAIT);
    ssize_t n = read(st.client, buf, sizeof buf);
    if (n > 0) {
      sio__sbuf_append(&all, buf, (size_t)n);
      got += (size_t)n;
      if (st.handed && got >= want && !strstr(st.b_got.data ? st.b_got.data : "", "rest"))
        assert_int_equal(write(st.client, " rest", 5), 5); /* read by worker 1 from the socket */
    }
  }
  assert_int_equal(st.handed, 1);
  assert_int_equal(got, want + 6);
  assert_int_equal(all.data[0], 'F');
  assert_memory_equal(all.data + want, "second", 6); /* after the first worker's whole answer */
  assert_string_equal(st.b_got.data, "pre-GET2 rest answered");
  sio__sbuf_free(&all);
  close(st.client);
  RUN_UNTIL(&st, st.closed == 1);
  teardown_pair(&st);
}

typedef struct data_log {
  sio__sbuf got[2];
  int n;
} data_log;

static void on_message(int from, const char *data, size_t len, void *user) {
  data_log *log = user;
  assert_int_equal(from, 0);
  if (log->n < 2) sio__sbuf_append(&log->got[log->n], data, len);
  log->n++;
}

static void keep_going(uv_idle_t *h) {}

static void test_large_data_message_queued_in_order(void **state) {
  pair_state st;
  setup_pair(&st);
  data_log log = {0};
  assert_int_equal(sio__worker_on_data(st.w0, &st.loop, on_message, &log), 0);
  size_t big_len = 3u << 20; /* far past a socket buffer: queued, flushed as it drains */
  char *big = malloc(big_len);
  for (size_t i = 0; i < big_len; i++) big[i] = (char)(i * 7 + 3);
  assert_int_equal(sio__worker_send(st.w0, 1, "small", 5), 0);
  assert_int_equal(sio__worker_send(st.w0, 1, big, big_len), 0);
  /* worker 1 starts reading only now */
  assert_int_equal(sio__worker_on_data(st.w1, &st.loop, on_message, &log), 0);
  uv_idle_t alive; /* the workers' sockets do not keep a loop alive (an app does): this does */
  uv_idle_init(&st.loop, &alive);
  uv_idle_start(&alive, keep_going);
  RUN_UNTIL(&st, log.n == 2);
  uv_close((uv_handle_t *)&alive, NULL);
  assert_int_equal(log.n, 2);
  assert_int_equal(log.got[0].len, 5);
  assert_memory_equal(log.got[0].data, "small", 5);
  assert_int_equal(log.got[1].len, big_len);
  assert_memory_equal(log.got[1].data, big, big_len);
  assert_int_equal(sio__worker_send(st.w0, 0, "x", 1), -EINVAL); /* not to itself */
  free(big);
  sio__sbuf_free(&log.got[0]);
  sio__sbuf_free(&log.got[1]);
  teardown_pair(&st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handoff_after_queued_response),
      cmocka_unit_test(test_large_data_message_queued_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
