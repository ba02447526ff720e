/* The sharded adapter on a Redis older than 7.0: a fake server on 127.0.0.1 that says
 * redis_version:6.2.14 to INFO and refuses every other command, as Redis 6 refuses SSUBSCRIBE
 * and SPUBLISH. The adapter is refused with a logged reason naming the version, and the
 * server still serves its own clients. */
#include "redis_adapter/cluster_fixture.h"

typedef struct fake {
  uv_tcp_t server;
  uv_tcp_t peers[8];
  int npeers;
  char buf[8][4096];
  size_t len[8];
} fake;

static fake F;

static void fixture_uses(void) { /* what this test needs not of the fixture */
  (void)wait_ready, (void)world_stop;
}
static uv_loop_t L;
static int refused_logged;

static void log_sink(sio_log_level level, const char *line, void *user) {
  if (strstr(line, "needs Redis >= 7.0") && strstr(line, "6.2.14")) refused_logged++;
}

static void write_done(uv_write_t *w, int status) {
  free(w->data);
  free(w);
}

static void send_text(uv_tcp_t *t, const char *s, size_t n) {
  uv_write_t *w = malloc(sizeof *w);
  char *copy = malloc(n);
  memcpy(copy, s, n);
  w->data = copy;
  uv_buf_t b = uv_buf_init(copy, (unsigned)n);
  uv_write(w, (uv_stream_t *)t, &b, 1, write_done);
}

/* Answers each complete command of the peer's buffer. */
static void answer(int i) {
  char *p = F.buf[i], *end = p + F.len[i];
  while (p < end && *p == '*') {
    long argc = strtol(p + 1, NULL, 10);
    char *q = p, *cmd = NULL;
    size_t cmdlen = 0;
    int whole = 1;
    q = strstr(q, "\r\n");
    for (long a = 0; whole && a < argc; a++) {
      if (!q || q + 2 >= end || q[2] != '$') {
        whole = 0;
        break;
      }
      long n = strtol(q + 3, NULL, 10);
      char *data = strstr(q + 2, "\r\n");
      if (!data || data + 2 + n + 2 > end) {
        whole = 0;
        break;
      }
      if (!a) cmd = data + 2, cmdlen = (size_t)n;
      q = data + 2 + n;
    }
    if (!whole) break;
    if (cmd && cmdlen == 4 && !strncasecmp(cmd, "INFO", 4)) {
      static const char info[] = "# Server\r\nredis_version:6.2.14\r\n";
      char reply[128];
      int n = snprintf(reply, sizeof reply, "$%zu\r\n%s\r\n", strlen(info), info);
      send_text(&F.peers[i], reply, (size_t)n);
    } else {
      static const char err[] = "-ERR unknown command\r\n";
      send_text(&F.peers[i], err, strlen(err));
    }
    p = q + 2;
  }
  F.len[i] = (size_t)(end - p);
  memmove(F.buf[i], p, F.len[i]);
}

static void peer_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  int i = (int)(intptr_t)h->data;
  b->base = F.buf[i] + F.len[i];
  b->len = sizeof F.buf[i] - F.len[i];
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  int i = (int)(intptr_t)s->data;
  if (n < 0) {
    uv_close((uv_handle_t *)s, NULL);
    return;
  }
  F.len[i] += (size_t)n;
  answer(i);
}

static void on_peer(uv_stream_t *server, int status) {
  if (status || F.npeers == 8) return;
  int i = F.npeers++;
  uv_tcp_init(&L, &F.peers[i]);
  F.peers[i].data = (void *)(intptr_t)i;
  if (uv_accept(server, (uv_stream_t *)&F.peers[i]) == 0)
    uv_read_start((uv_stream_t *)&F.peers[i], peer_alloc, peer_read);
}

static void close_all(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void test_refused_on_redis_6(void **state) {
  fixture_uses();
  memset(&F, 0, sizeof F);
  uv_loop_init(&L);
  sio_log_set_sink(log_sink, NULL);
  int port = test_free_port();
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(&L, &F.server);
  assert_int_equal(uv_tcp_bind(&F.server, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&F.server, 8, on_peer), 0);
  node n;
  sio_redis_adapter_opts o = sio_redis_adapter_opts_default();
  o.sharded = 1;
  node_start(&n, &L, port, &o);
  uint64_t end = uv_now(&L) + 3000;
  while (!refused_logged && uv_now(&L) < end) test_run_for(&L, 10);
  assert_int_equal(refused_logged, 1); /* once, with the version */
  /* local clients are still served */
  client c;
  client_connect(&c, &n, "/");
  assert_int_equal(sio_op_emit_raw(sio_io_op(n.io), "local", "[1]"), 0);
  assert_true(client_wait(&c, &L, "42[\"local\",1]", 2000));
  test_run_for(&L, 300); /* reconnects say nothing more */
  assert_int_equal(refused_logged, 1);
  client_free(&c);
  node_stop(&n);
  sio_log_set_sink(NULL, NULL);
  uv_walk(&L, close_all, NULL);
  for (int i = 0; i < 100 && uv_loop_alive(&L); i++) uv_run(&L, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&L), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_on_redis_6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
