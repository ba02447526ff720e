/* bench: the sio side of `make bench` (bench/README.md), twin of bench/node/servers.js.
 *
 *   bench [--port N] [--host H] [--public DIR] [--recovery]
 *         [--redis URL [--redis-sharded] [--redis-key K]] [--ping-interval MS]
 *         [--tls-cert F --tls-key F] [--workers N]
 *
 * - GET /api/json -> {"message":"Hello, World!"}; static files from --public DIR when given.
 * - Socket.IO at /socket.io/ with exactly the Node twin's handlers:
 *     socket.on("echo", (m) => socket.emit("echo", m))
 *     socket.on("bcast", (m) => io.emit("bcast", m))   (the sender gets its copy too)
 *     socket.on("vbcast", (m) => io.volatile.emit("vbcast", m))   (soak: volatile drops)
 *   The echo passes the received argument through (no tree); the broadcast is encoded once
 *   and the same frame is queued on every client.
 * - With --redis, the server joins a cluster through the Redis adapter (as the Node twin with
 *   @socket.io/redis-adapter): io.emit reaches the clients of every server of the cluster
 *   (--redis-sharded: the sharded adapter, Redis >= 7; --redis-key: the channel prefix).
 * - With --recovery, connection state recovery is on with its defaults (the Node twin's
 *   connectionStateRecovery: {}): every echo and broadcast is stored and carries its offset.
 * - --ping-interval MS: Engine.IO pingInterval (25000 as Node's); bench/scale may lengthen it
 *   so that a million idle clients cost fewer heartbeats.
 * - socket.on("ack", (m, cb) => cb(m)): the ack answers with the argument.
 * - With --tls-cert and --tls-key, all of it over HTTPS and wss (the Node twin: https).
 * - --workers N: N worker processes on the port (0: one per core), each its own server as above
 *   (sio/workers.h): a primary restarts one that dies and shuts them down on SIGTERM. The
 *   workers' adapter (sio_workers_adapter_new) joins them, so that bcast reaches the clients of
 *   every worker; with --redis, Redis does instead. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "sio/http.h"
#include "sio/io.h"
#include "sio/recovery.h"
#include "sio/redis.h"
#include "sio/tls.h"
#include "sio/workers.h"

static sio_io *io;

static void on_json(sio_req *req, sio_res *res, void *user) {
  static const char body[] = "{\"message\":\"Hello, World!\"}";
  sio_res_json_raw(res, body, sizeof body - 1);
}

static void on_echo(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  sio_emit_args(s, "echo", args);
}

static void on_bcast(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  sio_emit_args(io, "bcast", args);
}

/* socket.on("vbcast", (m) => io.volatile.emit("vbcast", m)): what the soak's slow-consumer
 * check uses to see volatile packets dropped for clients that cannot take them now. */
static void on_vbcast(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  sio_emit_args(sio_volatile(io), "vbcast", args);
}

static void on_ack(sio_socket *s, const sio_args *args, sio_ack *ack, void *user) {
  if (ack) sio_ack_send_args(ack, args);
}

static void on_connection(sio_socket *s, void *user) {
  sio_on(s, "echo", on_echo, NULL);
  sio_on(s, "ack", on_ack, NULL);
  sio_on(s, "bcast", on_bcast, NULL);
  sio_on(s, "vbcast", on_vbcast, NULL);
}

typedef struct options {
  int port, sharded, recovery, ping_ms, workers;
  const char *host, *pub, *redis_url, *redis_key;
  sio_tls_opts tls;
} options;

/* One server: the whole program without --workers, each worker's life with it. */
static int serve(sio_worker *w, void *user) {
  const options *op = user;
  int port = op->port, sharded = op->sharded, recovery = op->recovery, ping_ms = op->ping_ms;
  const char *host = op->host, *pub = op->pub, *redis_url = op->redis_url,
             *redis_key = op->redis_key;
  sio_tls_opts tls = op->tls;
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.port_any = port == 0;
  ao.host = host;
  ao.handle_signals = 1;
  ao.worker = w;
  if (tls.cert_file || tls.key_file) ao.tls = &tls;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app) {
    fprintf(stderr, "bench: cannot create the app\n");
    return 1;
  }
  sio_app_get(app, "/api/json", on_json, NULL);
  if (pub) sio_app_static(app, "/", pub, NULL);
  /* the handlers never read the handshake: release it once connected (less memory per idle
   * client; see sio_io_opts.drop_handshake) */
  sio_io_opts o = sio_io_opts_default();
  o.drop_handshake = 1;
  if (ping_ms) o.ping_interval_ms = (uint32_t)ping_ms;
  sio_redis_adapter *ra = NULL;
  if (redis_url) {
    sio_redis_adapter_opts ro = sio_redis_adapter_opts_default();
    ro.sharded = sharded;
    if (redis_key) ro.key = redis_key;
    int rc = sio_redis_adapter_new(loop, redis_url, &ro, &ra);
    if (rc) {
      fprintf(stderr, "bench: --redis %s: %s\n", redis_url, sio_redis_strerror(rc));
      return 1;
    }
    o.adapter = sio_redis_adapter_factory;
    o.adapter_arg = ra;
  } else if (w) { /* the workers are one cluster: bcast reaches the clients of every worker */
    int rc = sio_workers_adapter_new(loop, w, NULL, &ra);
    if (rc) {
      fprintf(stderr, "bench: the workers' adapter: %s\n", sio_strerror(rc));
      return 1;
    }
    o.adapter = sio_redis_adapter_factory;
    o.adapter_arg = ra;
  }
  io = sio_io_attach(app, &o);
  if (!io) {
    fprintf(stderr, "bench: cannot attach Socket.IO\n");
    return 1;
  }
  if (recovery) {
    sio_recovery_opts ro = sio_recovery_opts_default();
    sio_io_set_recovery(io, &ro);
  }
  sio_on_connection(io, on_connection, NULL);
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "bench: %s\n", sio_strerror(rc));
    return 1;
  }
  char who[64] = "";
  if (w)
    snprintf(who, sizeof who, ", worker %d of %d, pid %ld", sio_worker_index(w),
             sio_worker_count(w), (long)getpid());
  printf("%s://%s:%d/ (bench: /api/json, Socket.IO echo + bcast%s%s%s)\n",
         ao.tls ? "https" : "http", host ? host : "localhost", sio_app_port(app),
         redis_url ? ", through Redis" : "", recovery ? ", recovery on" : "", who);
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app); /* and the Socket.IO server attached to it */
  if (ra) sio_redis_adapter_free(ra);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

int main(int argc, char **argv) {
  options op = {.port = 3000, .workers = -1, .tls = sio_tls_opts_default()};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      op.port = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--host") && i + 1 < argc) {
      op.host = argv[++i];
    } else if (!strcmp(argv[i], "--public") && i + 1 < argc) {
      op.pub = argv[++i];
    } else if (!strcmp(argv[i], "--redis") && i + 1 < argc) {
      op.redis_url = argv[++i];
    } else if (!strcmp(argv[i], "--redis-key") && i + 1 < argc) {
      op.redis_key = argv[++i];
    } else if (!strcmp(argv[i], "--redis-sharded")) {
      op.sharded = 1;
    } else if (!strcmp(argv[i], "--recovery")) {
      op.recovery = 1;
    } else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc) {
      op.tls.cert_file = argv[++i];
    } else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc) {
      op.tls.key_file = argv[++i];
    } else if (!strcmp(argv[i], "--ping-interval") && i + 1 < argc) {
      op.ping_ms = atoi(argv[++i]);
      if (op.ping_ms <= 0) {
        fprintf(stderr, "bench: --ping-interval wants milliseconds > 0\n");
        return 2;
      }
    } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
      char *end;
      long n = strtol(argv[++i], &end, 10);
      if (*end || n < 0 || n > 4096) {
        fprintf(stderr, "bench: --workers wants 0 (one per core) to 4096\n");
        return 2;
      }
      op.workers = (int)n;
    } else {
      fprintf(stderr, "usage: bench [--port N] [--host H] [--public DIR] [--recovery] [--redis "
                      "URL [--redis-sharded] [--redis-key K]] [--ping-interval MS] [--tls-cert F "
                      "--tls-key F] [--workers N]\n");
      return 2;
    }
  }
  if (op.workers < 0) return serve(NULL, &op);
  if (op.port == 0) {
    fprintf(stderr, "bench: --workers needs a fixed --port (each worker binds it)\n");
    return 2;
  }
  sio_workers_opts wo = sio_workers_opts_default();
  wo.count = op.workers;
  int rc = sio_workers_run(&wo, serve, &op);
  if (rc < 0) fprintf(stderr, "bench: workers: %s\n", sio_strerror(rc));
  return rc == 0 ? 0 : 1;
}
