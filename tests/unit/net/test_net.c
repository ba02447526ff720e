/* Unit tests for src/net: an echo over loopback through sio__listen/sio__conn (batched writes,
 * large writes that stall until the socket's writable edge, graceful close), the peer address
 * as accepted (IPv4 through the dual-stack socket, IPv6), closing at once after the last write
 * once the peer is done (sio__conn_end), bytes and FIN that arrive while paused (delivered by
 * resume alone, as the set is edge-triggered), events of a closed socket that a forked child
 * still holds, bytes written from on_close leaving in the same loop turn, and the timer
 * wheel's ordering and accuracy: a timer fires at its due millisecond or the one before, never
 * after a plain libuv timer due at the same time. Small writes are copied together by the
 * queue (in order, never into a buffer someone else holds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "net/net.h"

typedef struct echo_state {
  uv_loop_t loop;
  sio__net *net;
  sio__listener *listener;
  uv_tcp_t client;
  uv_connect_t connect_req;
  uv_write_t write_req;
  char *sent;
  size_t sent_len;
  char *got;
  size_t got_len;
  int server_closed;
} echo_state;

static int echo_pieces; /* echo in many small writes (copied together by the queue) */

/* Small pieces of every size around the queue's copy limit; one in four from a buffer with
 * room after its bytes that the test still holds during the next write: the queue may copy
 * from it, never append to it. */
static void echo_in_pieces(sio__conn *c, const char *data, size_t len) {
  static unsigned k;
  sio__buf *held = NULL;
  for (size_t at = 0; at < len;) {
    size_t n = (size_t)(k * 37 % 700) + 1;
    if (n > len - at) n = len - at;
    sio__buf *b = NULL;
    if (k % 4 == 0) {
      b = sio__buf_new(n + 1024);
      assert_non_null(b);
      memcpy(b->data, data + at, n);
      b->len = n;
      assert_int_equal(sio__conn_write(c, b, 0, n), 0);
    } else {
      assert_int_equal(sio__conn_write_copy(c, data + at, n), 0);
    }
    if (held) { /* written into by nobody */
      assert_int_equal(held->len, held->cap - 1024);
      sio__buf_unref(held);
    }
    held = b;
    at += n;
    k++;
  }
  if (held) sio__buf_unref(held);
}

static void echo_on_data(sio__conn *c, const char *data, size_t len) {
  if (echo_pieces) {
    echo_in_pieces(c, data, len);
    return;
  }
  /* Two writes per read: both must arrive, in order. */
  size_t half = len / 2;
  assert_int_equal(sio__conn_write_copy(c, data, half), 0);
  assert_int_equal(sio__conn_write_copy(c, data + half, len - half), 0);
}

static void echo_on_eof(sio__conn *c, int err) {
  sio__conn_close(c);
}

static void echo_on_close(sio__conn *c) {
  echo_state *st = c->ctx;
  st->server_closed++;
}

static const sio__conn_handler echo_handler = {echo_on_data, echo_on_eof, NULL, echo_on_close};

static void on_accept(sio__listener *l, sio__conn *c, void *user) {
  c->handler = &echo_handler;
  c->ctx = user;
}

static void client_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof(buf));
}

static void client_closed(uv_handle_t *h) {
  echo_state *st = h->data;
  sio__listener_close(st->listener);
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  echo_state *st = s->data;
  if (n > 0) {
    memcpy(st->got + st->got_len, b->base, (size_t)n);
    st->got_len += (size_t)n;
    if (st->got_len == st->sent_len) uv_close((uv_handle_t *)s, client_closed);
  } else if (n < 0) {
    uv_close((uv_handle_t *)s, client_closed);
  }
}

static void client_wrote(uv_write_t *r, int status) {
  assert_int_equal(status, 0);
}

static void client_connected(uv_connect_t *r, int status) {
  echo_state *st = r->data;
  assert_int_equal(status, 0);
  uv_read_start((uv_stream_t *)&st->client, client_alloc, client_read);
  uv_buf_t b = uv_buf_init(st->sent, (unsigned)st->sent_len);
  uv_write(&st->write_req, (uv_stream_t *)&st->client, &b, 1, client_wrote);
}

static void run_echo(size_t size) {
  echo_state st;
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  st.net = sio__net_new(&st.loop);
  assert_non_null(st.net);
  sio__listen_opts o = {.host = "127.0.0.1", .port = 0};
  assert_int_equal(sio__listen(st.net, &o, on_accept, &st, &st.listener), 0);
  int port = sio__listener_port(st.listener);
  assert_true(port > 0);
  st.sent_len = size;
  st.sent = malloc(size);
  st.got = malloc(size);
  for (size_t i = 0; i < size; i++) st.sent[i] = (char)(i * 7 + 3);
  uv_tcp_init(&st.loop, &st.client);
  st.client.data = &st;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  st.connect_req.data = &st;
  uv_tcp_connect(&st.connect_req, &st.client, (struct sockaddr *)&addr, client_connected);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(st.got_len, size);
  assert_memory_equal(st.got, st.sent, size);
  assert_int_equal(st.server_closed, 1);
  sio__net_free(st.net);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&st.loop), 0);
  free(st.sent);
  free(st.got);
}

/* A loop with a net listening on `host` (NULL: dual stack, as by default) at a free port;
 * fixture_finish closes it all and checks that nothing was left open. */
typedef struct fixture {
  uv_loop_t loop;
  sio__net *net;
  sio__listener *l;
  int port;
} fixture;

static void fixture_start(fixture *f, const char *host, sio__accept_cb cb, void *user) {
  uv_loop_init(&f->loop);
  f->net = sio__net_new(&f->loop);
  assert_non_null(f->net);
  sio__listen_opts o = {.host = host, .port = 0};
  assert_int_equal(sio__listen(f->net, &o, cb, user, &f->l), 0);
  f->port = sio__listener_port(f->l);
}

static void fixture_finish(fixture *f) {
  sio__listener_close(f->l);
  sio__net_free(f->net);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* --- peer address and sio__conn_end ----------------------------------------------------- */
typedef struct peer_state {
  char ip[64];
  int port;
  int accepted, closed;
} peer_state;

/* The "protocol": the peer's "bye" means it sends nothing more; the server answers "ok" and
 * ends the connection without waiting for the peer's FIN. */
static void end_on_data(sio__conn *c, const char *data, size_t len) {
  assert_true(len >= 3 && memcmp(data + len - 3, "bye", 3) == 0);
  assert_int_equal(sio__conn_write_copy(c, "ok", 2), 0);
  sio__conn_end(c);
}

static void peer_on_close(sio__conn *c) {
  ((peer_state *)c->ctx)->closed++;
}

static const sio__conn_handler end_handler = {end_on_data, NULL, NULL, peer_on_close};

static void peer_on_accept(sio__listener *l, sio__conn *c, void *user) {
  peer_state *ps = user;
  c->handler = &end_handler;
  c->ctx = ps;
  assert_int_equal(sio__conn_peer(c, ps->ip, sizeof ps->ip, &ps->port), 0);
  ps->accepted++;
}

/* Runs the loop until `*flag` is set (or a second passes). */
static void run_until(uv_loop_t *loop, int *flag) {
  for (int i = 0; i < 1000 && !*flag; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (!*flag) usleep(1000);
  }
  assert_true(*flag);
}

/* Connects a blocking client from `family`'s loopback; returns the fd (or -1 if the machine
 * has no such loopback) and the client's own port. */
static int connect_loopback(int family, int port, int *client_port) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons((uint16_t)port);
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons((uint16_t)port);
    len = sizeof *a;
  }
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
    close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *client_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* One client: its address as the server saw it, then "bye" -> "ok" and the server's FIN,
 * sent before the client closed anything. */
static void check_peer(int family, const char *want_ip) {
  peer_state ps = {0};
  fixture f;
  fixture_start(&f, NULL, peer_on_accept, &ps);
  int client_port;
  int fd = connect_loopback(family, f.port, &client_port);
  if (fd >= 0) {
    run_until(&f.loop, &ps.accepted);
    assert_string_equal(ps.ip, want_ip);
    assert_int_equal(ps.port, client_port);
    assert_int_equal(write(fd, "bye", 3), 3);
    run_until(&f.loop, &ps.closed); /* closed by the server alone: the client still has it open */
    char buf[8];
    ssize_t n = read(fd, buf, sizeof buf);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "ok", 2);
    assert_int_equal(read(fd, buf, sizeof buf), 0); /* a clean FIN, not a reset */
    close(fd);
  } else {
    print_message("no %s loopback on this machine: skipped\n", want_ip);
  }
  fixture_finish(&f);
}

static void test_peer_ipv4(void **s) {
  check_peer(AF_INET, "::ffff:127.0.0.1");
}
static void test_peer_ipv6(void **s) {
  check_peer(AF_INET6, "::1");
}

static void test_echo_small(void **s) {
  run_echo(100);
}
static void test_echo_large(void **s) {
  run_echo(8 * 1024 * 1024);
}
/* Small writes copied together into one buffer: in order, while the socket fills and drains. */
static void test_echo_small_pieces(void **s) {
  echo_pieces = 1;
  run_echo(1000);
  run_echo(4 * 1024 * 1024);
  echo_pieces = 0;
}

/* --- pausing, and events that outlive their connection --------------------------------- */
typedef struct pause_state {
  sio__conn *conn;
  char got[64];
  size_t got_len;
  int eof, closed, accepted;
} pause_state;

/* Pauses after the first bytes: what the peer sends meanwhile (and its FIN) must arrive after
 * sio__conn_resume alone, with no new bytes to raise an edge. */
static void pause_on_data(sio__conn *c, const char *data, size_t len) {
  pause_state *ps = c->ctx;
  assert_true(ps->got_len + len <= sizeof ps->got);
  memcpy(ps->got + ps->got_len, data, len);
  ps->got_len += len;
  if (ps->got_len == 5) sio__conn_pause(c);
}

static void pause_on_eof(sio__conn *c, int err) {
  pause_state *ps = c->ctx;
  assert_int_equal(err, UV_EOF);
  ps->eof++;
  sio__conn_close(c);
}

static void pause_on_close(sio__conn *c) {
  ((pause_state *)c->ctx)->closed++;
}

static const sio__conn_handler pause_handler = {pause_on_data, pause_on_eof, NULL, pause_on_close};

static void pause_on_accept(sio__listener *l, sio__conn *c, void *user) {
  pause_state *ps = user;
  c->handler = &pause_handler;
  c->ctx = ps;
  ps->conn = c;
  ps->accepted++;
}

static void spin(uv_loop_t *loop, int ms) {
  for (int i = 0; i < ms; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

static void test_pause_resume(void **s) {
  pause_state ps = {0};
  fixture f;
  fixture_start(&f, "127.0.0.1", pause_on_accept, &ps);
  int client_port;
  int fd = connect_loopback(AF_INET, f.port, &client_port);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "hello", 5), 5);
  run_until(&f.loop, &ps.accepted);
  spin(&f.loop, 50);
  assert_int_equal(ps.got_len, 5);
  assert_int_equal(write(fd, " world", 6), 6);
  shutdown(fd, SHUT_WR);
  spin(&f.loop, 50); /* paused: nothing may arrive */
  assert_int_equal(ps.got_len, 5);
  assert_int_equal(ps.eof, 0);
  sio__conn_resume(ps.conn);
  run_until(&f.loop, &ps.closed);
  assert_int_equal(ps.got_len, 11);
  assert_memory_equal(ps.got, "hello world", 11);
  assert_int_equal(ps.eof, 1);
  char buf[8];
  assert_int_equal(read(fd, buf, sizeof buf), 0);
  close(fd);
  fixture_finish(&f);
}

/* A forked child keeps a copy of a connection's socket, so closing it leaves it in the epoll
 * set: its events keep coming after the connection was freed and its descriptor number went
 * to the next connection. They must reach nobody (with a pointer in the event, ASan would see
 * a use after free), and the next connection must get exactly its own bytes. */
typedef struct two_conns {
  pause_state st[2];
  int n;
} two_conns;

static void two_on_accept(sio__listener *l, sio__conn *c, void *user) {
  two_conns *t = user;
  assert_true(t->n < 2);
  pause_on_accept(l, c, &t->st[t->n++]);
}

static void test_event_after_close(void **s) {
  two_conns t;
  memset(&t, 0, sizeof t);
  pause_state *first = &t.st[0], *second = &t.st[1];
  fixture f;
  fixture_start(&f, "127.0.0.1", two_on_accept, &t);
  int port = f.port, cport;
  int fd1 = connect_loopback(AF_INET, port, &cport);
  assert_true(fd1 >= 0);
  run_until(&f.loop, &first->accepted);
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) { /* holds every descriptor of the parent, the accepted socket included */
    usleep(400 * 1000);
    _exit(0);
  }
  int old_fd = first->conn->fd;
  int fd2 = connect_loopback(AF_INET, port, &cport); /* waits in the backlog */
  assert_true(fd2 >= 0);
  sio__conn_abort(first->conn);
  run_until(&f.loop, &second->accepted); /* the accept takes the freed descriptor number */
  run_until(&f.loop, &first->closed);
  assert_int_equal(second->conn->fd, old_fd);
  /* The old socket is still open in the child: bytes and a FIN to it raise events in the set. */
  assert_int_equal(write(fd1, "stale", 5), 5);
  shutdown(fd1, SHUT_WR);
  spin(&f.loop, 50);
  assert_int_equal(second->got_len, 0);
  assert_int_equal(write(fd2, "fresh", 5), 5);
  spin(&f.loop, 50);
  assert_int_equal(second->got_len, 5);
  assert_memory_equal(second->got, "fresh", 5);
  assert_int_equal(first->got_len, 0);
  assert_int_equal(first->closed, 1);
  int status;
  waitpid(child, &status, 0);
  sio__conn_abort(second->conn);
  run_until(&f.loop, &second->closed);
  close(fd1);
  close(fd2);
  fixture_finish(&f);
}

/* A connection's on_close writes to another connection, as a server announcing a departure
 * does: the bytes must leave in the same loop turn, not wait for an unrelated event. */
typedef struct notify_state {
  pause_state st[2];
  int n;
} notify_state;

static void notify_on_close(sio__conn *c) {
  notify_state *ns = c->ctx;
  ns->st[0].closed++;
  assert_int_equal(sio__conn_write_copy(ns->st[1].conn, "gone", 4), 0);
}

static const sio__conn_handler notify_handler = {pause_on_data, pause_on_eof, NULL,
                                                 notify_on_close};

static void notify_on_accept(sio__listener *l, sio__conn *c, void *user) {
  notify_state *ns = user;
  assert_true(ns->n < 2);
  pause_state *ps = &ns->st[ns->n++];
  c->handler = ns->n == 1 ? &notify_handler : &pause_handler;
  c->ctx = ns->n == 1 ? (void *)ns : (void *)ps;
  ps->conn = c;
  ps->accepted++;
}

static void test_write_from_on_close(void **s) {
  notify_state ns;
  memset(&ns, 0, sizeof ns);
  fixture f;
  fixture_start(&f, "127.0.0.1", notify_on_accept, &ns);
  int cport;
  int fd1 = connect_loopback(AF_INET, f.port, &cport);
  run_until(&f.loop, &ns.st[0].accepted);
  int fd2 = connect_loopback(AF_INET, f.port, &cport);
  run_until(&f.loop, &ns.st[1].accepted);
  spin(&f.loop, 10); /* both registered, nothing pending */
  sio__conn_abort(ns.st[0].conn);
  uv_run(&f.loop, UV_RUN_NOWAIT); /* one turn: its prepare frees the first connection */
  assert_int_equal(ns.st[0].closed, 1);
  char buf[8];
  ssize_t n = recv(fd2, buf, sizeof buf, MSG_DONTWAIT);
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "gone", 4);
  sio__conn_abort(ns.st[1].conn);
  run_until(&f.loop, &ns.st[1].closed);
  close(fd1);
  close(fd2);
  fixture_finish(&f);
}

typedef struct timer_state {
  sio__timer t[4];
  int order[4];
  int fired;
  uint64_t start;
  uint64_t fired_at[4];
  sio__net *net;
} timer_state;

static timer_state *tstate;

static void on_timer(sio__timer *t) {
  int i = (int)(t - tstate->t);
  tstate->order[tstate->fired++] = i;
  tstate->fired_at[i] = sio__net_now(tstate->net);
}

static void test_timers(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  timer_state st;
  memset(&st, 0, sizeof st);
  tstate = &st;
  st.net = sio__net_new(&loop);
  for (int i = 0; i < 4; i++) sio__timer_init(&st.t[i]);
  st.start = uv_now(&loop);
  sio__timer_start(st.net, &st.t[0], 300, on_timer);
  sio__timer_start(st.net, &st.t[1], 50, on_timer);
  sio__timer_start(st.net, &st.t[2], 2500, on_timer); /* beyond one wheel turn */
  sio__timer_start(st.net, &st.t[3], 100, on_timer);
  sio__timer_stop(&st.t[3]);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(st.fired, 3);
  assert_int_equal(st.order[0], 1);
  assert_int_equal(st.order[1], 0);
  assert_int_equal(st.order[2], 2);
  /* at the tick at or before the due millisecond: at most a tick (8 ms) early */
  assert_true(st.fired_at[0] - st.start >= 300 - 8 && st.fired_at[0] - st.start < 400);
  assert_true(st.fired_at[2] - st.start >= 2500 - 8 && st.fired_at[2] - st.start < 2600);
  sio__net_free(st.net);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- early, never late ---------------------------------------------------------------------
 * Each sio__timer has a twin, a plain uv_timer_t started at the same loop time for the same
 * ms: libuv runs a due timer no earlier than its due time, and all timers due by the loop time
 * in one pass in due order. A wheel timer that is never late has fired before its twin, or in
 * the same pass (same loop time: a tie with the wheel's tick). That holds however late the loop
 * runs, so the test is exact on a busy machine; and a wheel timer is never more than a
 * millisecond early (loop time is what the wheel decides by, so that bound is exact too).
 * Pairs are started from a 3 ms timer so that they begin at every phase of the wheel's 8 ms
 * tick; sio__timer_start_at with a deadline
 * chained from a first timer's due time keeps that schedule. */
#define PAIRS 48
typedef struct pair {
  sio__timer t;
  uv_timer_t twin;
  uint64_t due, fired_at, twin_at;
  int fired, twin_fired, chained;
} pair;

typedef struct early_state {
  uv_loop_t loop;
  sio__net *net;
  uv_timer_t starter;
  pair p[PAIRS];
  int started, done;
} early_state;

static early_state *estate;
static const uint64_t pair_ms[] = {8, 9, 15, 16, 17, 23, 40, 63, 64, 65, 100, 199, 200, 201};

static void pair_closed(uv_handle_t *h) {
  estate->done++;
}

static void on_pair_timer(sio__timer *t) {
  pair *p = sio__container_of(t, pair, t);
  uint64_t now = uv_now(&estate->loop);
  if (p->chained == 1) { /* the first wait: the second is due 50 ms after the first was */
    assert_true(now + 1 >= p->due && (!p->twin_fired || now == p->twin_at));
    p->chained = 2;
    p->due = t->due + 50;
    sio__timer_start_at(estate->net, t, p->due, on_pair_timer);
    uv_timer_start(&p->twin, p->twin.timer_cb, p->due - now, 0);
    p->twin_fired = 0;
    return;
  }
  p->fired = 1;
  p->fired_at = now;
  assert_true(now + 1 >= p->due);                   /* at most a millisecond early */
  assert_true(!p->twin_fired || now == p->twin_at); /* not after its twin's pass */
  if (p->twin_fired) uv_close((uv_handle_t *)&p->twin, pair_closed);
}

static void on_twin(uv_timer_t *h) {
  pair *p = h->data;
  p->twin_fired = 1;
  p->twin_at = uv_now(&estate->loop);
  if (p->fired) uv_close((uv_handle_t *)h, pair_closed);
}

static void start_pair(uv_timer_t *h) {
  early_state *st = h->data;
  pair *p = &st->p[st->started];
  uint64_t ms = pair_ms[st->started % (sizeof pair_ms / sizeof pair_ms[0])];
  uint64_t now = uv_now(&st->loop);
  p->due = now + ms;
  p->chained = st->started % 4 == 3;
  sio__timer_init(&p->t);
  uv_timer_init(&st->loop, &p->twin);
  p->twin.data = p;
  sio__timer_start(st->net, &p->t, ms, on_pair_timer);
  uv_timer_start(&p->twin, on_twin, ms, 0);
  if (++st->started == PAIRS) uv_close((uv_handle_t *)h, NULL);
}

static void test_timers_early_never_late(void **s) {
  early_state st;
  memset(&st, 0, sizeof st);
  estate = &st;
  uv_loop_init(&st.loop);
  st.net = sio__net_new(&st.loop);
  uv_timer_init(&st.loop, &st.starter);
  st.starter.data = &st;
  uv_timer_start(&st.starter, start_pair, 1, 3);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(st.started, PAIRS);
  assert_int_equal(st.done, PAIRS);
  for (int i = 0; i < PAIRS; i++) assert_true(st.p[i].fired && st.p[i].twin_fired);
  sio__net_free(st.net);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&st.loop), 0);
}

/* A callback that finds its timer a millisecond early and restarts it for the rest (as the
 * WebSocket idle check does) gets it at its due time, without spinning: libuv 1.44 would run
 * a timer re-armed for 0 ms from a timer callback again at the same loop time, forever. */
typedef struct rest_state {
  sio__timer t;
  uv_loop_t *loop;
  uint64_t target;
  int restarts, done;
} rest_state;

static void on_rest_timer(sio__timer *t) {
  rest_state *st = sio__container_of(t, rest_state, t);
  uint64_t now = uv_now(st->loop);
  if (now < st->target) {
    assert_true(++st->restarts < 4);
    sio__timer_start(t->net, t, st->target - now, on_rest_timer);
    return;
  }
  st->done = 1;
}

static void test_timer_restart_for_the_rest(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio__net *net = sio__net_new(&loop);
  for (uint64_t ms = 1; ms <= 24; ms++) {
    rest_state st = {.loop = &loop};
    sio__timer_init(&st.t);
    uv_update_time(&loop);
    st.target = uv_now(&loop) + ms;
    sio__timer_start(net, &st.t, ms, on_rest_timer);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(st.done);
  }
  sio__net_free(net);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* sio__net_past: a millisecond early counts, and the refreshed loop time decides. */
static void test_net_past(void **s) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  sio__net *net = sio__net_new(&loop);
  uint64_t now = sio__net_now(net);
  assert_true(sio__net_past(net, now));
  assert_true(sio__net_past(net, now + 1));
  assert_false(sio__net_past(net, now + 2));
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
  assert_false(sio__net_past(net, now + 3)); /* the cached time still lags */
  sio__net_refresh(net);
  assert_true(sio__net_past(net, now + 3));
  sio__net_free(net);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- running out of descriptors ------------------------------------------------------------
 * The server process gets a low RLIMIT_NOFILE; a forked child (normal limit) opens more
 * connections than fit. The server must log the episode once, close the excess at once (the
 * child sees EOF on them), keep serving the connections it has, and not spin. */
typedef struct emfile_state {
  uv_loop_t loop;
  sio__net *net;
  sio__listener *listener;
  int accepted;
  int warn_lines;
  uv_timer_t stop;
} emfile_state;

static void emfile_sink(sio_log_level level, const char *line, void *user) {
  emfile_state *st = user;
  if (level == SIO_LOG_WARN && strstr(line, "out of file descriptors")) st->warn_lines++;
}

static void emfile_on_data(sio__conn *c, const char *data, size_t len) {
  sio__conn_write_copy(c, data, len); /* echo: proves existing connections are served */
}
static const sio__conn_handler emfile_handler = {emfile_on_data, NULL, NULL, NULL};

static void emfile_accept(sio__listener *l, sio__conn *c, void *user) {
  emfile_state *st = user;
  st->accepted++;
  c->handler = &emfile_handler;
}

static void emfile_stop(uv_timer_t *t) {
  emfile_state *st = t->data;
  uv_stop(&st->loop);
}

/* Child: open `n` connections, then check that the first `expect_open` of them echo and that
 * the others were closed by the server. Exit status 0 on success. */
static int emfile_child(int port, int n, int expect_open) {
  int fds[512];
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  for (int i = 0; i < n; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0) return 10;
    usleep(1000);
  }
  usleep(300000);
  int open_ok = 0, closed = 0;
  for (int i = 0; i < n; i++) {
    struct timeval tv = {0, 300000};
    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b[8];
    if (send(fds[i], "ping", 4, MSG_NOSIGNAL) == 4 && recv(fds[i], b, sizeof b, 0) == 4)
      open_ok++;
    else
      closed++;
  }
  /* Every connection either works or was closed at once (none hangs in the backlog). */
  return open_ok >= expect_open && closed >= 20 && open_ok + closed == n ? 0 : 20;
}

static void test_emfile(void **s) {
  emfile_state st;
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  st.net = sio__net_new(&st.loop);
  sio__listen_opts o = {.host = "127.0.0.1", .port = 0, .max_conns = 100000};
  assert_int_equal(sio__listen(st.net, &o, emfile_accept, &st, &st.listener), 0);
  int port = sio__listener_port(st.listener);
  /* Leave about 20 descriptors for connections under the new limit (the kernel hands out the
   * lowest free number, so gaps below the highest open descriptor count as free). */
  int highest = 0, nopen = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) != -1) {
      highest = fd;
      nopen++;
    }
  int limit = highest + 1 > nopen + 20 ? highest + 1 : nopen + 20;
  int spare = limit - nopen;
  int nconns = spare + 40 < 500 ? spare + 40 : 500;
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) _exit(emfile_child(port, nconns, spare - 5));
  struct rlimit old, rl;
  getrlimit(RLIMIT_NOFILE, &old);
  rl = old;
  rl.rlim_cur = (rlim_t)limit;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  sio_log_set_sink(emfile_sink, &st);
  uv_timer_init(&st.loop, &st.stop);
  st.stop.data = &st;
  uv_timer_start(&st.stop, emfile_stop, 2500, 0);
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  getrusage(RUSAGE_SELF, &after);
  int status = 0;
  waitpid(child, &status, 0);
  setrlimit(RLIMIT_NOFILE, &old);
  sio_log_set_sink(NULL, NULL);
  double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
               (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6;
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(st.warn_lines, 1); /* one line per episode */
  assert_true(st.accepted >= spare - 5 && st.accepted < nconns);
  assert_true(cpu < 1.0); /* no busy loop while descriptors were exhausted */
  uv_close((uv_handle_t *)&st.stop, NULL);
  sio__listener_close(st.listener);
  sio__net_free(st.net);
  uv_run(&st.loop, UV_RUN_DEFAULT); /* the child is gone: its connections end with EOF */
  assert_int_equal(uv_loop_close(&st.loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_small),
      cmocka_unit_test(test_echo_large),
      cmocka_unit_test(test_echo_small_pieces),
      cmocka_unit_test(test_peer_ipv4),
      cmocka_unit_test(test_peer_ipv6),
      cmocka_unit_test(test_timers),
      cmocka_unit_test(test_timers_early_never_late),
      cmocka_unit_test(test_timer_restart_for_the_rest),
      cmocka_unit_test(test_net_past),
      cmocka_unit_test(test_emfile),
      cmocka_unit_test(test_pause_resume),
      cmocka_unit_test(test_event_after_close),
      cmocka_unit_test(test_write_from_on_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
