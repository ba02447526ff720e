/* sio-server: the state every part of the server shares (one per process, no globals but the
 * log format), and the functions each file offers the others.
 *   main.c     start, signals, SIGHUP reload
 *   config.c   options (config.h)
 *   api.c      the publish API (/api/...), bearer tokens, rate limit, CORS
 *   clients.c  namespaces, client auth (JWT, auth hook), rooms from claims, webhook feed
 *   httpc.c    a small HTTP/1.1 client on the loop (auth hook, webhook)
 *   webhook.c  the batched, retried, bounded queue of client events to the backend
 *   metrics.c  /healthz and /metrics (Prometheus text), event-loop lag
 *   log.c      text or JSON log lines */
#ifndef SIO_SERVER_SERVER_H
#define SIO_SERVER_SERVER_H

#include <jwt.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "sio/recovery.h"
#include "sio/sio.h"

typedef struct srv_bucket srv_bucket; /* api.c: a token's rate-limit bucket */
typedef struct srv_webhook srv_webhook;

/* Counters of what the server itself sees (the library's are sio_io_stats). */
typedef struct srv_counters {
  uint64_t connects;
  uint64_t refused; /* clients refused by JWT or the auth hook */
  uint64_t disconnects[16];
  const char *disconnect_reasons[16]; /* static strings (the library's reasons) */
  uint64_t disconnects_other;
  uint64_t api_requests[6]; /* by status class: 2xx, 4xx... index status / 100 */
  uint64_t api_emits;
  uint64_t api_rate_limited;
  uint64_t webhook_sent, webhook_failed, webhook_dropped, webhook_events;
  double loop_lag_ms, loop_lag_max_ms;
} srv_counters;

typedef struct srv {
  uv_loop_t *loop;
  srv_config cfg; /* the live configuration (reloadable parts replaced on SIGHUP) */
  int argc;
  char **argv;
  sio_worker *worker; /* with workers != 1: this process's place among them */
  sio_app *app;
  sio_io *io;
  sio_nsp *any; /* the dynamic parent when namespaces is "*" */
  sio_redis_adapter *redis;
  sio_redis_adapter *workers_adapter; /* workers without redis: sio_workers_adapter_new */
  srv_bucket *buckets;                /* one per token, same order as cfg.tokens */
  size_t nbuckets;
  unsigned char *jwt_key; /* the verification key (HS256 secret or RS256 PEM) */
  size_t jwt_key_len;
  jwt_alg_t jwt_alg; /* JWT_ALG_NONE: no JWT */
  srv_webhook *webhook;
  srv_counters n;
  uv_timer_t lag_timer;
  uint64_t lag_due;
  uv_signal_t sighup;
  uint64_t started_ms;
} srv;

/* api.c */
int srv_api_init(srv *s);
int srv_api_reload(srv *s); /* tokens changed: new buckets */
void srv_api_free(srv *s);

/* clients.c */
int srv_clients_init(srv *s);
int srv_jwt_reload(srv *s); /* reads the JWT key from the configuration */

/* metrics.c */
int srv_metrics_init(srv *s);
void srv_metrics_close(srv *s);
void srv_count_disconnect(srv *s, const char *reason);

/* webhook.c */
int srv_webhook_new(srv *s);
/* Queues a client event: {nsp, socket, event, args}; args the JSON array text. */
void srv_webhook_push(srv *s, const char *nsp, const char *sid, const char *event, const char *args,
                      size_t args_len);
void srv_webhook_free(srv *s);

/* log.c */
void srv_log_setup(const srv_config *c);
void srv_log(sio_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ms since the epoch */
uint64_t srv_now_ms(void);

#endif
