/* A real redis-server for the tests of the Redis layer: started on 127.0.0.1 at a free port
 * (`redis-server --port P --save '' --appendonly no`), stopped by its PID. The child asks the
 * kernel to kill it when the test process dies (PR_SET_PDEATHSIG), so a failed assertion, an
 * ASan abort or a crash never leaves a server behind; the tests also stop it in teardown.
 * And the loop helpers the tests share: run the loop until a flag is set or a deadline. */
#ifndef TESTS_UNIT_REDIS_REDIS_SERVER_H
#define TESTS_UNIT_REDIS_REDIS_SERVER_H
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

typedef struct test_redis {
  int port;
  pid_t pid;
} test_redis;

/* A port nothing listens on now (the kernel's pick for a socket bound to port 0). */
static inline int test_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    abort();
  close(fd);
  return ntohs(a.sin_port);
}

static inline int test_port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

/* Starts redis-server on r->port (a free one when 0); returns 0 once it accepts connections. */
static inline int test_redis_start(test_redis *r) {
  if (!r->port) r->port = test_free_port();
  char port[16];
  snprintf(port, sizeof port, "%d", r->port);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", (char *)NULL);
    _exit(127);
  }
  r->pid = pid;
  for (int i = 0; i < 500; i++) { /* up to 5 s */
    if (test_port_accepts(r->port)) return 0;
    if (waitpid(pid, NULL, WNOHANG) == pid) break;
    usleep(10000);
  }
  r->pid = 0;
  return -1;
}

/* Stops it (SIGKILL: as a crash or a lost host looks to the clients) and reaps it. */
static inline void test_redis_stop(test_redis *r) {
  if (r->pid <= 0) return;
  kill(r->pid, SIGKILL);
  waitpid(r->pid, NULL, 0);
  r->pid = 0;
}

static inline void test_tick(uv_timer_t *t) {
  (void)t;
}

/* Runs the loop until *flag becomes nonzero or `ms` pass; returns *flag. */
static inline int test_run_until(uv_loop_t *loop, const volatile int *flag, unsigned ms) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, test_tick, 5, 5);
  uint64_t end = uv_now(loop) + ms;
  while (!*flag && uv_now(loop) < end) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag;
}

/* Runs the loop for `ms`. */
static inline void test_run_for(uv_loop_t *loop, unsigned ms) {
  static const int never = 0;
  test_run_until(loop, &never, ms);
}

/* A time in milliseconds (monotonic). */
static inline double test_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
#endif
