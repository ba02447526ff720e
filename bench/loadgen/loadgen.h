/* sio-loadgen: shared declarations.
 *
 * The load generator is one single-threaded epoll loop driving many non-blocking client
 * connections (WebSocket, and Engine.IO v4 / Socket.IO v5 over WebSocket). It is kept apart
 * from the sio library on purpose: the same client measures sio and the Node reference
 * servers, so a ratio compares servers, not clients.
 *
 * Files: util.c (buffers, clock, histogram, rng), conn.c (TCP connect, HTTP upgrade,
 * WebSocket framing), tls.c (the --tls client, on OpenSSL), modes.c (what each benchmark
 * sends and counts), publish.c (sio-publish: HTTP publishers and the clients that count
 * their events), scale.c (what a held sio-idle run does on a signal: a broadcast, an
 * active echo phase; bench/scale uses it), main.c (options, the loop, phases, the RESULT line). */
#ifndef SIO_LOADGEN_H
#define SIO_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum lg_mode {
  LG_WS_ECHO,
  LG_SIO_ECHO,
  LG_SIO_BCAST,
  LG_SIO_IDLE,
  LG_SIO_CONNECT,
  LG_TLS_CONNECT,
  LG_SIO_PUBLISH
};
#define LG_MODES           7
#define LG_MAX_SERVER_PIDS 16 /* a primary and its workers, or the servers of a cluster */

/* Phases of a run: open the connections, warm up (not counted), measure, hold (idle), done. */
enum lg_phase { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_HOLD, PH_DONE };

enum lg_state {
  ST_IDLE,        /* no socket */
  ST_CONNECTING,  /* TCP connect in progress */
  ST_TLS,         /* --tls: the TLS handshake is in progress */
  ST_HTTP,        /* tls-connect: GET sent, reading the answer until the server closes */
  ST_UPGRADING,   /* HTTP upgrade request sent, waiting for 101 */
  ST_EIO_OPEN,    /* WebSocket up, waiting for the Engine.IO open packet "0{...}" */
  ST_SIO_CONNECT, /* "40" sent, waiting for "40{...}" */
  ST_READY,       /* usable: benchmark traffic flows */
  ST_CLOSING,     /* sio-connect: "41" and a close frame sent, waiting for the server's close */
  ST_PUB,         /* sio-publish: a publisher's HTTP connection, POSTing (publish.c) */
};

/* What the read path asks the loop to do with a connection once parsing stops. */
enum lg_action { ACT_NONE, ACT_FAIL, ACT_RECYCLE };

typedef struct lg_opts {
  enum lg_mode mode;
  const char *host;
  int port;
  int port2;        /* if set: the second half of the connections go to this port (two servers
                       of one cluster; the senders of sio-bcast stay on the first) */
  const char *path; /* request path for ws-echo */
  int conns;        /* connections (sio-connect: concurrent handshakes) */
  int inflight;     /* messages in flight per connection (bcast: per sender) */
  int size;         /* payload bytes */
  double duration;  /* measured seconds */
  double warmup;    /* seconds of uncounted traffic before measuring */
  double hold;      /* sio-idle: seconds to hold the clients after READY */
  double timeout;   /* connect phase limit, seconds */
  int senders;      /* sio-bcast: how many clients emit */
  int concurrency;  /* connection attempts in progress at once */
  int src_base;     /* first source address 127.0.0.<src_base> */
  int src_count;    /* how many source addresses to rotate over (0: let the kernel choose) */
  int server_pids[LG_MAX_SERVER_PIDS]; /* --server-pid (repeatable), --server-pid2: read their
                                          CPU time over the measured window, added up */
  int nserver_pids;
  double rate;            /* connection attempts started per second at most (0: no limit) */
  int active;             /* sio-idle: clients that echo after SIGUSR2 */
  double active_interval; /* seconds between two echoes of one active client */
  double active_duration; /* seconds the active phase lasts */
  double bcast_timeout;   /* sio-idle: seconds to wait for a broadcast to reach every client */
  bool tls;               /* --tls: every connection speaks TLS (no certificate check) */
  const char *http_path;  /* tls-connect: the GET after each handshake (/api/json); sio-publish:
                             the POST (/api/emit) */
  int publishers;         /* sio-publish: HTTP connections that POST (4) */
  int batch;              /* sio-publish: emits per request (1: one object; more: an array) */
  int window;             /* sio-publish: events published and not yet delivered everywhere */
  const char *token;      /* sio-publish: the bearer token */
} lg_opts;

/* A byte queue: valid bytes are data[off, off + len). */
typedef struct lg_buf {
  uint8_t *data;
  size_t off, len, cap;
} lg_buf;

void lg_buf_append(lg_buf *b, const void *p, size_t n);
uint8_t *lg_buf_tail(lg_buf *b, size_t n); /* room for n bytes at the end, counted as used */
void lg_buf_consume(lg_buf *b, size_t n);
void lg_buf_free(lg_buf *b);
static inline uint8_t *lg_buf_head(lg_buf *b) {
  return b->data + b->off;
}

/* Log-linear latency histogram over nanoseconds: exact below 128 ns, then 64 sub-buckets per
 * power of two (under 1.6% error), enough to merge nothing and sort nothing. */
#define LG_HIST_BUCKETS (128 + 57 * 64)
typedef struct lg_hist {
  uint64_t count;
  uint64_t bucket[LG_HIST_BUCKETS];
} lg_hist;

void lg_hist_add(lg_hist *h, uint64_t ns);
double lg_hist_pct_us(const lg_hist *h, double pct); /* 0 if empty */
/* One "PREFIX <bucket value in us> <count>" line per non-empty bucket (for merging). */
void lg_hist_print(const lg_hist *h, FILE *f, const char *prefix);

uint64_t lg_now_ns(void);
uint64_t lg_rand(void);
void lg_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void lg_put_hex64(char *out, uint64_t v);                    /* 16 lowercase hex digits */
bool lg_get_hex(const uint8_t *in, int digits, uint64_t *v); /* lowercase hex */

typedef struct lg_conn {
  int fd;
  uint32_t id;
  uint8_t state;  /* enum lg_state */
  uint8_t action; /* enum lg_action */
  uint8_t frag_op;
  bool want_out; /* EPOLLOUT registered */
  bool counted;  /* counted in ctx->ready */
  lg_buf in, out, frag;
  void *ssl;        /* --tls: the connection's SSL (OpenSSL over the descriptor: a client) */
  uint64_t t_start; /* when the TCP connect began (sio-idle active: the next echo is due) */
} lg_conn;

/* sio-idle under bench/scale: a broadcast (SIGUSR1) and an echo phase (SIGUSR2). */
typedef struct lg_scale {
  uint64_t bc_sent;           /* the earliest send stamp seen in a broadcast, 0 before one */
  uint64_t bc_first, bc_last; /* first and last delivery here */
  uint64_t bc_deadline;       /* when a broadcast still incomplete is reported anyway */
  int bc_got;                 /* deliveries of the current broadcast */
  bool bc_reported;
  bool echo_on;      /* the active phase runs */
  uint64_t echo_end; /* when it stops */
  uint64_t echo_sent, echo_got;
  int nactive;   /* connections [0, nactive) of the READY ones take part */
  lg_conn **act; /* those connections */
} lg_scale;

typedef struct lg_pub lg_pub; /* sio-publish's state (publish.c) */

typedef struct lg_ctx {
  lg_opts o;
  int ep;
  lg_conn *conns;
  int nconns;
  int next_start; /* connect phase: next connection to open */
  int connecting; /* attempts in progress */
  int ready;      /* connections in ST_READY */
  enum lg_phase phase;
  uint64_t phase_end;
  uint64_t t_first_start, t_all_ready;
  uint64_t t_measure_start, t_measure_end;
  double cpu_measure_start, cpu_measure_end;
  double srv_cpu_start, srv_cpu_end;       /* the sum over o.server_pids, -1 if one is unreadable */
  double srv_cpu_each[LG_MAX_SERVER_PIDS]; /* each one's, start then (at the end) its share */
  uint64_t src_rr;
  uint8_t *rbuf;
  size_t rbuf_size;
  uint64_t now; /* clock read once per received batch: stamps and latencies use it */
  char *tmpl;   /* the message this run sends (modes.c) */
  size_t tmpl_len, stamp_at;
  /* counters (measured window only, except errors and connects_total) */
  uint64_t msgs;   /* echoes received / broadcast deliveries / completed handshakes */
  uint64_t sends;  /* messages sent in the window */
  uint64_t errors; /* failed or lost connections, any phase */
  uint64_t connects_total;
  lg_hist hist;
  lg_scale sc;
  lg_pub *pub;          /* sio-publish */
  int pub_ready;        /* publishers connected (counted in ready too) */
  uint64_t pub_sent;    /* events in requests sent, all phases (refused ones taken back) */
  uint64_t deliv_total; /* deliveries, all phases */
  uint64_t pub_errors;  /* non-2xx answers to a publish */
  char last_error[160];
} lg_ctx;

/* conn.c */
/* Whether connections recycle once done (sio-connect, tls-connect: a new one in the slot). */
bool lg_mode_cycles(enum lg_mode m);
void lg_conn_start(lg_ctx *x, lg_conn *c);
void lg_conn_close(lg_ctx *x, lg_conn *c);
void lg_conn_on_event(lg_ctx *x, lg_conn *c, uint32_t events);
void lg_conn_flush(lg_ctx *x, lg_conn *c);
void lg_send_frame(lg_conn *c, int opcode, const void *payload, size_t len);
void lg_conn_error(lg_ctx *x, lg_conn *c, const char *why);

/* tls.c: the --tls client. Reads and writes return as recv/send do (-1 with errno EAGAIN when
 * OpenSSL waits for the socket; *want_out set when it waits to write). */
void lg_tls_start(lg_ctx *x, lg_conn *c);
int lg_tls_handshake(lg_ctx *x, lg_conn *c, bool *want_out); /* 1 done, 0 waiting, -1 failed */
long lg_tls_recv(lg_ctx *x, lg_conn *c, void *buf, size_t len);
long lg_tls_send(lg_ctx *x, lg_conn *c, const void *buf, size_t len, bool *want_out);
bool lg_tls_pending(const lg_conn *c); /* read-ahead bytes wait inside OpenSSL */
void lg_tls_free(lg_conn *c);

/* modes.c */
bool lg_mode_is_sio(enum lg_mode m);
/* The server port connection `id` uses (--port, or --port2 for the second half). */
int lg_conn_port(const lg_opts *o, uint32_t id);
void lg_mode_on_upgraded(lg_ctx *x, lg_conn *c);
void lg_mode_on_message(lg_ctx *x, lg_conn *c, int opcode, uint8_t *data, size_t len);
void lg_mode_kick(lg_ctx *x); /* all connections are up: start the traffic */

/* publish.c (sio-publish) */
bool lg_pub_is_publisher(const lg_ctx *x, const lg_conn *c);
void lg_pub_init(lg_ctx *x);
void lg_pub_free(lg_ctx *x);
void lg_pub_tick(lg_ctx *x); /* tops up every publisher within the window, then flushes */
/* Handles the answers in data[0, n) (a publisher's connection); returns the bytes used. */
size_t lg_pub_on_bytes(lg_ctx *x, lg_conn *c, const uint8_t *data, size_t n);

/* scale.c */
void lg_scale_install(lg_ctx *x); /* SIGUSR1 / SIGUSR2 handlers (sio-idle) */
void lg_scale_tick(lg_ctx *x);    /* once per loop turn: signals, due echoes, reports */
int lg_scale_wait_ms(const lg_ctx *x, int ms); /* shortens the loop's wait when needed */
void lg_scale_on_event(lg_ctx *x, lg_conn *c, const uint8_t *d, size_t len); /* 42[...] */
void lg_scale_free(lg_ctx *x);

/* main.c */
void lg_conn_became_ready(lg_ctx *x, lg_conn *c);

#endif
