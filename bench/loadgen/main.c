/* sio-loadgen: command line, the epoll loop, the phases of a run, and the RESULT line.
 *
 *   sio-loadgen MODE --port N [options]      MODE: ws-echo sio-echo sio-bcast sio-idle sio-connect
 *                                                  tls-connect sio-publish
 *
 * A run opens its connections (at most --concurrency attempts at a time), warms up, then
 * measures for --duration seconds. It prints one line, `RESULT mode=... key=value ...`, that
 * bench/run-all parses. loadgen_bound=1 means the load generator's own CPU time was at least
 * 90% of the measured wall time: then the figure is a floor for the server, and the ratio to
 * judge is messages per server-CPU-second (given --server-pid, the loadgen reads the server's
 * CPU time over exactly the measured window). sio-idle prints its RESULT line once all
 * clients are up, then holds them for --hold seconds so the caller can read the server's RSS.
 * --tls runs any mode over TLS; tls-connect measures TLS handshakes: each of --conns slots
 * connects, completes a full handshake (no resumption), sends GET --http-path with
 * Connection: close and reads the answer until the server closes, then starts again.
 * sio-publish: --conns Socket.IO clients count the events that --publishers HTTP connections
 * POST to --http-path (/api/emit), --batch per request, --inflight pipelined (publish.c); the
 * RESULT line adds published, published_per_s and published_per_server_cpu_s. */
#include "loadgen.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const mode_names[LG_MODES] = {
    "ws-echo", "sio-echo", "sio-bcast", "sio-idle", "sio-connect", "tls-connect", "sio-publish"};

bool lg_mode_cycles(enum lg_mode m) {
  return m == LG_SIO_CONNECT || m == LG_TLS_CONNECT;
}

static void usage(void) {
  fprintf(stderr,
          "usage: sio-loadgen MODE --port N [options]\n"
          "  MODE: ws-echo | sio-echo | sio-bcast | sio-idle | sio-connect | tls-connect |\n"
          "        sio-publish\n"
          "  --tls              over TLS (any mode; tls-connect always)\n"
          "  --http-path P      tls-connect: the GET after each handshake (/api/json);\n"
          "                     sio-publish: the POST (/api/emit)\n"
          "  --publishers P     sio-publish: HTTP connections that POST (4)\n"
          "  --batch K          sio-publish: emits per request (1; more: a JSON array)\n"
          "  --window W         sio-publish: events published, not yet delivered to all (32)\n"
          "  --token T          sio-publish: Authorization: Bearer T (bench)\n"
          "  --host ADDR        IPv4 server address (127.0.0.1)\n"
          "  --port2 N          the second half of the connections go to this port (a\n"
          "                     second server of the cluster; bcast senders stay on --port)\n"
          "  --path P           ws-echo request path (/)\n"
          "  --conns N          connections (100; bcast, idle, publish 1000; connect: parallel "
          "handshakes, 32)\n"
          "  --inflight M       messages in flight per connection (32; bcast: per sender, 4;\n"
          "                     publish: requests pipelined per publisher, 16)\n"
          "  --size B           payload bytes / string length (32; bcast, publish 64)\n"
          "  --senders K        sio-bcast: clients that emit (10)\n"
          "  --duration S       measured seconds (10)\n"
          "  --warmup S         uncounted seconds first (2)\n"
          "  --hold S           sio-idle: hold clients after the RESULT line (5)\n"
          "  --timeout S        limit for opening the connections (60)\n"
          "  --concurrency C    connection attempts at once (200)\n"
          "  --src-base B       first source address 127.0.0.B (2)\n"
          "  --src-count K      source addresses to rotate over (64; 0 = kernel's choice)\n"
          "  --server-pid PID   read the server's CPU time over the measured window; repeat\n"
          "                     it for a primary and its workers: their sum (at most 16)\n"
          "  --server-pid2 PID  and a second server's (--port2), counted with it\n"
          "  --rate R           connection attempts started per second at most (no limit)\n"
          "  sio-idle, held (bench/scale): SIGUSR1 = one broadcast, SIGUSR2 = echo phase\n"
          "  --active K         clients that echo in the echo phase (0)\n"
          "  --active-interval S  seconds between two echoes of one client (0.1)\n"
          "  --active-duration S  length of the echo phase (10)\n"
          "  --bcast-timeout S  report a broadcast not yet everywhere after S seconds (30)\n");
  exit(2);
}

static double arg_num(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) usage();
  char *end;
  double v = strtod(argv[++*i], &end);
  if (*end) lg_fatal("bad number for %s: %s", argv[*i - 1], argv[*i]);
  return v;
}

static void set_defaults(lg_opts *o) {
  *o = (lg_opts){.host = "127.0.0.1",
                 .path = "/",
                 .conns = 100,
                 .inflight = 32,
                 .size = 32,
                 .duration = 10,
                 .warmup = 2,
                 .hold = 5,
                 .timeout = 60,
                 .senders = 10,
                 .concurrency = 200,
                 .src_base = 2,
                 .src_count = 64,
                 .active_interval = 0.1,
                 .active_duration = 10,
                 .bcast_timeout = 30,
                 .publishers = 4,
                 .batch = 1,
                 .window = 32,
                 .token = "bench"};
}

static void parse_args(lg_opts *o, int argc, char **argv) {
  if (argc < 2) usage();
  int mode = -1;
  for (int m = 0; m < LG_MODES; m++)
    if (!strcmp(argv[1], mode_names[m])) mode = m;
  if (mode < 0) usage();
  set_defaults(o);
  o->mode = (enum lg_mode)mode;
  if (o->mode == LG_SIO_BCAST) o->conns = 1000, o->inflight = 4, o->size = 64;
  if (o->mode == LG_SIO_IDLE) o->conns = 1000;
  if (o->mode == LG_SIO_CONNECT || o->mode == LG_TLS_CONNECT) o->conns = 32;
  o->tls = o->mode == LG_TLS_CONNECT;
  o->http_path = "/api/json";
  if (o->mode == LG_SIO_PUBLISH)
    o->conns = 1000, o->inflight = 16, o->size = 64, o->http_path = "/api/emit";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--host") && i + 1 < argc)
      o->host = argv[++i];
    else if (!strcmp(a, "--tls"))
      o->tls = true;
    else if (!strcmp(a, "--http-path") && i + 1 < argc)
      o->http_path = argv[++i];
    else if (!strcmp(a, "--token") && i + 1 < argc)
      o->token = argv[++i];
    else if (!strcmp(a, "--publishers"))
      o->publishers = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--batch"))
      o->batch = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--window"))
      o->window = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--path") && i + 1 < argc)
      o->path = argv[++i];
    else if (!strcmp(a, "--port"))
      o->port = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--port2"))
      o->port2 = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--conns"))
      o->conns = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--inflight"))
      o->inflight = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--size"))
      o->size = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--senders"))
      o->senders = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--duration"))
      o->duration = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--warmup"))
      o->warmup = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--hold"))
      o->hold = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--timeout"))
      o->timeout = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--concurrency"))
      o->concurrency = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--src-base"))
      o->src_base = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--src-count"))
      o->src_count = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--server-pid") || !strcmp(a, "--server-pid2")) {
      if (o->nserver_pids == LG_MAX_SERVER_PIDS)
        lg_fatal("at most %d server PIDs", LG_MAX_SERVER_PIDS);
      o->server_pids[o->nserver_pids++] = (int)arg_num(argc, argv, &i);
    } else if (!strcmp(a, "--rate"))
      o->rate = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--active"))
      o->active = (int)arg_num(argc, argv, &i);
    else if (!strcmp(a, "--active-interval"))
      o->active_interval = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--active-duration"))
      o->active_duration = arg_num(argc, argv, &i);
    else if (!strcmp(a, "--bcast-timeout"))
      o->bcast_timeout = arg_num(argc, argv, &i);
    else
      usage();
  }
  if (o->port <= 0 || o->port > 65535) lg_fatal("--port is required");
  if (o->port2 < 0 || o->port2 > 65535) lg_fatal("--port2 must be a port");
  if (o->conns < 1 || o->inflight < 1 || o->concurrency < 1) lg_fatal("counts must be >= 1");
  if (o->size < 0 || o->size > (8 << 20)) lg_fatal("--size must be 0..8388608");
  if (o->src_count > 0 && o->src_base + o->src_count > 255)
    lg_fatal("source range past 127.0.0.254");
  if (strncmp(o->host, "127.", 4) != 0) o->src_count = 0; /* only loopback has spare addresses */
  if (o->senders > o->conns) o->senders = o->conns;
  if (o->mode == LG_SIO_PUBLISH && (o->tls || o->port2))
    lg_fatal("sio-publish: no --tls, no --port2");
  if (o->publishers < 1 || o->batch < 1 || o->window < o->batch)
    lg_fatal("--publishers, --batch must be >= 1, --window >= --batch");
  if (o->rate < 0 || o->active < 0 || o->active_interval <= 0 || o->active_duration < 0)
    lg_fatal("--rate, --active, --active-* must be positive");
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of a whole process (all threads), from /proc/PID/stat; -1 if unreadable. */
static double proc_cpu_s(int pid) {
  if (pid <= 0) return -1;
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = 0;
  char *p = strrchr(line, ')');
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The CPU time of the servers added up (the two servers of a cluster, a primary and its
 * workers count together); each one's in each[]. -1 if none is given or one cannot be read. */
static double servers_cpu_s(const lg_opts *o, double *each) {
  double sum = o->nserver_pids ? 0 : -1;
  for (int i = 0; i < o->nserver_pids; i++) {
    each[i] = proc_cpu_s(o->server_pids[i]);
    if (each[i] < 0) sum = -1;
    if (sum >= 0) sum += each[i];
  }
  return sum;
}

static void start_pending(lg_ctx *x);
static void print_idle(const lg_ctx *x);

static void after_connect_phase(lg_ctx *x, uint64_t now) {
  x->t_all_ready = now;
  if (x->o.mode == LG_SIO_IDLE) {
    print_idle(x); /* printed now: the caller reads the server's RSS while we hold */
    fflush(stdout);
    x->phase = PH_HOLD;
    x->phase_end = now + (uint64_t)(x->o.hold * 1e9);
    return;
  }
  if (x->ready == 0) { /* nothing to measure: report at once */
    x->phase = PH_DONE;
    x->t_measure_start = x->t_measure_end = now;
    return;
  }
  x->phase = PH_WARMUP;
  x->phase_end = now + (uint64_t)(x->o.warmup * 1e9);
  lg_mode_kick(x);
}

static void check_all_ready(lg_ctx *x) {
  if (x->phase == PH_CONNECT && x->next_start == x->nconns && x->connecting == 0)
    after_connect_phase(x, lg_now_ns());
}

void lg_conn_became_ready(lg_ctx *x, lg_conn *c) {
  if (x->o.mode == LG_SIO_CONNECT) {
    if (x->phase == PH_MEASURE) {
      x->msgs++;
      lg_hist_add(&x->hist, lg_now_ns() - c->t_start);
    }
    /* Leave as socket.io-client's socket.disconnect() does: a Socket.IO DISCONNECT, then the
     * WebSocket closing handshake (an empty close frame, as WebSocket.close() sends); the
     * server answers with its close frame and closes the TCP connection first (RFC 6455
     * 7.1.1). The slot is recycled when that close frame or the EOF arrives. */
    lg_send_frame(c, 0x1, "41", 2);
    lg_send_frame(c, 0x8, "", 0);
    c->state = ST_CLOSING;
    return;
  }
  c->state = ST_READY;
  c->counted = true;
  x->ready++;
  x->connecting--;
  start_pending(x);
}

static void handle_action(lg_ctx *x, lg_conn *c) {
  enum lg_action act = c->action;
  c->action = ACT_NONE;
  bool was_connecting = c->state != ST_READY && c->state != ST_IDLE;
  lg_conn_close(x, c);
  if (act != ACT_FAIL || lg_mode_cycles(x->o.mode)) return; /* slots restart in the sweep */
  if (c->counted) {
    c->counted = false;
    x->ready--;
    if (lg_pub_is_publisher(x, c)) x->pub_ready--;
  } else if (was_connecting) {
    x->connecting--;
    start_pending(x);
  }
}

/* With --rate: may one more attempt start now? (a budget that grows with elapsed time) */
static bool rate_allows(const lg_ctx *x) {
  if (x->o.rate <= 0) return true;
  double elapsed = (double)(lg_now_ns() - x->t_first_start) / 1e9;
  return (double)x->next_start < elapsed * x->o.rate + 1;
}

/* Ramp: keep --concurrency attempts in progress until every connection has been tried, then
 * start the traffic. An attempt that fails at once (no socket) is counted and not retried. */
static void start_pending(lg_ctx *x) {
  while (x->phase == PH_CONNECT && x->connecting < x->o.concurrency && x->next_start < x->nconns &&
         rate_allows(x)) {
    lg_conn *c = &x->conns[x->next_start++];
    lg_conn_start(x, c);
    if (c->action == ACT_NONE) {
      x->connecting++;
    } else {
      c->action = ACT_NONE;
      lg_conn_close(x, c);
    }
  }
  check_all_ready(x);
}

/* sio-connect: every slot whose handshake finished or failed starts a new one. */
static void restart_slots(lg_ctx *x) {
  for (int i = 0; i < x->nconns; i++) {
    lg_conn *c = &x->conns[i];
    if (c->state != ST_IDLE) continue;
    lg_conn_start(x, c);
    if (c->action != ACT_NONE) { /* failed at once: leave it for the next sweep */
      c->action = ACT_NONE;
      lg_conn_close(x, c);
    }
  }
}

/* sio-idle: one "PROGRESS ready=N errors=E" line a second while connecting (bench/scale
 * watches the ramp with it). */
static void progress(lg_ctx *x, uint64_t now) {
  static uint64_t next;
  if (x->o.mode != LG_SIO_IDLE || now < next) return;
  next = now + 1000000000u;
  printf("PROGRESS ready=%d errors=%llu\n", x->ready, (unsigned long long)x->errors);
  fflush(stdout);
}

static void advance_phase(lg_ctx *x, uint64_t now) {
  if (x->phase == PH_CONNECT) {
    progress(x, now);
    if (now - x->t_first_start > (uint64_t)(x->o.timeout * 1e9)) {
      fprintf(stderr, "sio-loadgen: connect phase timed out with %d of %d ready\n", x->ready,
              x->nconns);
      after_connect_phase(x, now);
    }
    return;
  }
  if (now < x->phase_end) return;
  if (x->phase == PH_WARMUP) {
    x->phase = PH_MEASURE;
    x->msgs = x->sends = 0;
    memset(&x->hist, 0, sizeof x->hist);
    x->t_measure_start = now;
    x->cpu_measure_start = self_cpu_s();
    x->srv_cpu_start = servers_cpu_s(&x->o, x->srv_cpu_each);
    x->phase_end = now + (uint64_t)(x->o.duration * 1e9);
  } else if (x->phase == PH_MEASURE) {
    x->t_measure_end = now;
    x->cpu_measure_end = self_cpu_s();
    double end[LG_MAX_SERVER_PIDS];
    x->srv_cpu_end = servers_cpu_s(&x->o, end);
    for (int i = 0; i < x->o.nserver_pids; i++) x->srv_cpu_each[i] = end[i] - x->srv_cpu_each[i];
    x->phase = PH_DONE;
  } else if (x->phase == PH_HOLD) {
    x->phase = PH_DONE;
  }
}

static int wait_ms(const lg_ctx *x, uint64_t now) {
  if (x->phase == PH_CONNECT) return x->o.rate > 0 ? 2 : 100;
  if (x->phase_end <= now) return 0;
  uint64_t ms = (x->phase_end - now + 999999) / 1000000;
  return lg_scale_wait_ms(x, ms > 100 ? 100 : (int)ms);
}

static void run_loop(lg_ctx *x) {
  struct epoll_event evs[512];
  uint64_t now = lg_now_ns();
  while (x->phase != PH_DONE) {
    int n = epoll_wait(x->ep, evs, 512, wait_ms(x, now));
    if (n < 0 && errno != EINTR) lg_fatal("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      lg_conn *c = evs[i].data.ptr;
      if (c->fd < 0) continue; /* closed earlier in this batch */
      lg_conn_on_event(x, c, evs[i].events);
      if (c->action != ACT_NONE) handle_action(x, c);
    }
    if (lg_mode_cycles(x->o.mode) && x->phase != PH_DONE) restart_slots(x);
    if (x->phase == PH_CONNECT && x->o.rate > 0) start_pending(x);
    lg_scale_tick(x);
    lg_pub_tick(x);
    now = lg_now_ns();
    advance_phase(x, now);
  }
}

static void print_measured(const lg_ctx *x) {
  double wall = (double)(x->t_measure_end - x->t_measure_start) / 1e9;
  double cpu = x->cpu_measure_end - x->cpu_measure_start;
  double srv =
      (x->srv_cpu_start >= 0 && x->srv_cpu_end >= 0) ? x->srv_cpu_end - x->srv_cpu_start : -1;
  const lg_opts *o = &x->o;
  double rate = wall > 0 ? (double)x->msgs / wall : 0;
  printf("RESULT mode=%s conns=%d", mode_names[o->mode], o->conns);
  if (!lg_mode_cycles(o->mode))
    printf(" connected=%d inflight=%d size=%d", x->ready - x->pub_ready, o->inflight, o->size);
  if (o->mode == LG_SIO_BCAST)
    printf(" senders=%d sends=%llu", o->senders, (unsigned long long)x->sends);
  if (o->mode == LG_SIO_PUBLISH)
    printf(" publishers=%d/%d batch=%d window=%d published=%llu published_per_s=%.0f"
           " pub_errors=%llu",
           x->pub_ready, o->publishers, o->batch, o->window, (unsigned long long)x->sends,
           wall > 0 ? (double)x->sends / wall : 0, (unsigned long long)x->pub_errors);
  printf(" duration_s=%.3f msgs=%llu msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f errors=%llu"
         " loadgen_cpu_s=%.2f loadgen_bound=%d",
         wall, (unsigned long long)x->msgs, rate, lg_hist_pct_us(&x->hist, 50),
         lg_hist_pct_us(&x->hist, 99), (unsigned long long)x->errors, cpu,
         wall > 0 && cpu >= 0.9 * wall);
  if (srv >= 0)
    printf(" server_cpu_s=%.2f msgs_per_server_cpu_s=%.0f", srv,
           srv > 0 ? (double)x->msgs / srv : 0);
  if (srv >= 0 && o->nserver_pids > 1) { /* each server's share, in --server-pid order */
    printf(" server_cpu_each=");
    for (int i = 0; i < o->nserver_pids; i++) printf("%s%.2f", i ? "," : "", x->srv_cpu_each[i]);
  }
  if (srv >= 0 && o->mode == LG_SIO_PUBLISH)
    printf(" published_per_server_cpu_s=%.0f", srv > 0 ? (double)x->sends / srv : 0);
  printf("\n");
}

static void print_idle(const lg_ctx *x) {
  double secs = (double)(x->t_all_ready - x->t_first_start) / 1e9;
  printf("RESULT mode=sio-idle clients=%d connected=%d connect_s=%.3f connects_per_s=%.0f"
         " errors=%llu\n",
         x->nconns, x->ready, secs, secs > 0 ? x->ready / secs : 0, (unsigned long long)x->errors);
}

/* Everything goes back before exit, so that sanitizer builds report real leaks only. */
static void free_all(lg_ctx *x) {
  for (int i = 0; i < x->nconns; i++) {
    lg_conn_close(x, &x->conns[i]);
    lg_buf_free(&x->conns[i].in);
    lg_buf_free(&x->conns[i].out);
    lg_buf_free(&x->conns[i].frag);
  }
  close(x->ep);
  lg_scale_free(x);
  lg_pub_free(x);
  free(x->conns);
  free(x->rbuf);
  free(x->tmpl);
  free(x);
}

int main(int argc, char **argv) {
  lg_ctx *x = calloc(1, sizeof *x);
  if (!x) lg_fatal("out of memory");
  parse_args(&x->o, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  lg_scale_install(x);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)x->o.conns + (rlim_t)x->o.publishers + 64 > rl.rlim_cur)
    lg_fatal("--conns %d exceeds the open-file limit %llu: run several processes", x->o.conns,
             (unsigned long long)rl.rlim_cur);
  x->ep = epoll_create1(EPOLL_CLOEXEC);
  x->rbuf_size = 256 * 1024;
  x->rbuf = malloc(x->rbuf_size);
  x->nconns = x->o.conns + (x->o.mode == LG_SIO_PUBLISH ? x->o.publishers : 0);
  x->conns = calloc((size_t)x->nconns, sizeof *x->conns);
  if (x->ep < 0 || !x->rbuf || !x->conns) lg_fatal("setup failed");
  for (int i = 0; i < x->nconns; i++) x->conns[i] = (lg_conn){.fd = -1, .id = (uint32_t)i};
  x->srv_cpu_start = x->srv_cpu_end = -1;
  if (x->o.mode == LG_SIO_PUBLISH) lg_pub_init(x);
  x->t_first_start = lg_now_ns();
  if (lg_mode_cycles(x->o.mode)) {
    x->phase = PH_WARMUP;
    x->phase_end = x->t_first_start + (uint64_t)(x->o.warmup * 1e9);
    restart_slots(x);
  } else {
    x->phase = PH_CONNECT;
    start_pending(x);
  }
  run_loop(x);
  if (x->o.mode != LG_SIO_IDLE) print_measured(x);
  if (x->errors || x->pub_errors)
    fprintf(stderr, "sio-loadgen: %llu errors, %llu refused publishes, last: %s\n",
            (unsigned long long)x->errors, (unsigned long long)x->pub_errors, x->last_error);
  fflush(stdout);
  int rc = x->ready == 0 && !lg_mode_cycles(x->o.mode) ? 1 : 0;
  free_all(x);
  return rc;
}
