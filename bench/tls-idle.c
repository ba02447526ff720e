/* sio-tls-idle: where an idle TLS client's memory goes (issue 15, point 2).
 *
 *   sio-tls-idle --port N [--tls-cert F --tls-key F]
 *
 * A Socket.IO server as bench's (examples/bench: drop_handshake, no handlers needed for idle
 * clients), over TLS when given a certificate, whose allocations are all counted:
 * - OpenSSL's own, through CRYPTO_set_mem_functions installed before OpenSSL allocates
 *   anything (replacing sio's hook, which routes them to sio's allocator), by the OpenSSL
 *   source file and line that asked for them;
 * - everything else sio allocates (and libuv, jansson), through sio_set_allocator.
 * Each block carries a 16-byte header (its size and site) so that a free is charged to the
 * site that allocated it; the figures are requested bytes, not malloc's rounding (the RSS
 * difference, measured by the caller, holds that).
 *
 * GET /mem answers {"openssl": {"bytes", "blocks"}, "sio": {"bytes", "blocks"},
 * "rss_kib", "sites": [[site, bytes, blocks], ...]} (the 24 OpenSSL sites holding the most);
 * bench/run-all reads it before and after a ramp of idle clients (sio-loadgen sio-idle --tls)
 * and divides the differences by the number of clients. */
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/http.h"
#include "sio/io.h"
#include "sio/tls.h"

/* --- counting -------------------------------------------------------------------------------- */
#define SITES 1024 /* OpenSSL call sites seen (open addressing on file pointer and line) */
#define HDR   16

typedef struct site {
  const char *file;
  int line;
  int64_t bytes, blocks;
} site;

static site sites[SITES];
static int64_t ossl_bytes, ossl_blocks, sio_bytes, sio_blocks;

static uint32_t site_of(const char *file, int line) {
  uintptr_t h = ((uintptr_t)file >> 4) * 31u + (uintptr_t)line;
  for (uint32_t i = 0; i < SITES; i++) {
    uint32_t k = (uint32_t)((h + i) % SITES);
    if (sites[k].file == file && sites[k].line == line) return k;
    if (!sites[k].file) {
      sites[k].file = file;
      sites[k].line = line;
      return k;
    }
  }
  return 0; /* full: charged to slot 0 (never with OpenSSL's few hundred sites) */
}

/* The header: size in the first 8 bytes, site + 1 (0: not OpenSSL's) in the next 4. */
static void *stamp(char *p, size_t n, uint32_t s) {
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  memcpy(p + 8, &s, sizeof s);
  return p + HDR;
}

static void charge(char *hdr, int sign) {
  size_t n;
  uint32_t s;
  memcpy(&n, hdr, sizeof n);
  memcpy(&s, hdr + 8, sizeof s);
  if (s) {
    ossl_bytes += sign * (int64_t)n;
    ossl_blocks += sign;
    sites[s - 1].bytes += sign * (int64_t)n;
    sites[s - 1].blocks += sign;
  } else {
    sio_bytes += sign * (int64_t)n;
    sio_blocks += sign;
  }
}

static void *ossl_malloc(size_t n, const char *file, int line) {
  char *p = stamp(malloc(n + HDR), n, site_of(file, line) + 1);
  if (p) charge(p - HDR, 1);
  return p;
}
static void ossl_free(void *p, const char *file, int line) {
  if (!p) return;
  charge((char *)p - HDR, -1);
  free((char *)p - HDR);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
  if (!p) return ossl_malloc(n, file, line);
  if (n == 0) {
    ossl_free(p, file, line);
    return NULL;
  }
  char *h = (char *)p - HDR;
  charge(h, -1);
  char *q = realloc(h, n + HDR);
  if (!q) {
    charge(h, 1);
    return NULL;
  }
  uint32_t s;
  memcpy(&s, q + 8, sizeof s);
  char *r = stamp(q, n, s);
  charge(q, 1);
  return r;
}

static void *sio_malloc(size_t n) {
  char *p = stamp(malloc(n + HDR), n, 0);
  if (p) charge(p - HDR, 1);
  return p;
}
static void sio_free(void *p) {
  if (!p) return;
  charge((char *)p - HDR, -1);
  free((char *)p - HDR);
}
static void *sio_realloc(void *p, size_t n) {
  if (!p) return sio_malloc(n);
  if (n == 0) {
    sio_free(p);
    return NULL;
  }
  char *h = (char *)p - HDR;
  charge(h, -1);
  char *q = realloc(h, n + HDR);
  if (!q) {
    charge(h, 1);
    return NULL;
  }
  char *r = stamp(q, n, 0);
  charge(q, 1);
  return r;
}
static void *sio_calloc(size_t c, size_t n) {
  if (n && c > SIZE_MAX / n - HDR) return NULL;
  void *p = sio_malloc(c * n);
  if (p) memset(p, 0, c * n);
  return p;
}

/* --- /mem --------------------------------------------------------------------------------------
 */
static sio_app *app;

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kib = atol(line + 6);
  if (f) fclose(f);
  return kib;
}

static int by_bytes(const void *a, const void *b) {
  int64_t x = ((const site *)a)->bytes, y = ((const site *)b)->bytes;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void on_mem(sio_req *req, sio_res *res, void *user) {
  static site sorted[SITES];
  memcpy(sorted, sites, sizeof sites);
  qsort(sorted, SITES, sizeof *sorted, by_bytes);
  static char body[16384];
  int n = snprintf(body, sizeof body,
                   "{\"openssl\":{\"bytes\":%lld,\"blocks\":%lld},"
                   "\"sio\":{\"bytes\":%lld,\"blocks\":%lld},\"rss_kib\":%ld,\"sites\":[",
                   (long long)ossl_bytes, (long long)ossl_blocks, (long long)sio_bytes,
                   (long long)sio_blocks, rss_kib());
  for (int i = 0; i < 24 && sorted[i].file && sorted[i].bytes > 0; i++) {
    const char *f =
        strstr(sorted[i].file, "openssl-") ? strchr(strstr(sorted[i].file, "openssl-"), '/') : NULL;
    n += snprintf(body + n, sizeof body - (size_t)n, "%s[\"%s:%d\",%lld,%lld]", i ? "," : "",
                  f ? f + 1 : sorted[i].file, sorted[i].line, (long long)sorted[i].bytes,
                  (long long)sorted[i].blocks);
  }
  n += snprintf(body + n, sizeof body - (size_t)n, "]}");
  sio_res_json_raw(res, body, (size_t)n);
}

int main(int argc, char **argv) {
  /* sio's allocator first (before any sio call); sio_app_new routes OpenSSL's allocations to
   * it, and ours replace that right after (OpenSSL has allocated nothing yet, so it lets us):
   * a block made by either is freed correctly by the other (same header). */
  static const sio_allocator counted = {sio_malloc, sio_realloc, sio_calloc, sio_free};
  if (sio_set_allocator(&counted) != 0) return 1;
  int port = 3000;
  sio_tls_opts tls = sio_tls_opts_default();
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc) {
      tls.cert_file = argv[++i];
    } else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc) {
      tls.key_file = argv[++i];
    } else {
      fprintf(stderr, "usage: sio-tls-idle --port N [--tls-cert F --tls-key F]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.port = port;
  ao.host = "127.0.0.1";
  ao.handle_signals = 1;
  if (tls.cert_file) ao.tls = &tls;
  app = sio_app_new(loop, &ao);
  if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
    fprintf(stderr, "sio-tls-idle: OpenSSL allocated before its counters were set\n");
    return 1;
  }
  sio_io_opts o = sio_io_opts_default();
  o.drop_handshake = 1;
  sio_io *io = app ? sio_io_attach(app, &o) : NULL;
  if (!io || sio_app_get(app, "/mem", on_mem, NULL) != 0) return 1;
  int rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "sio-tls-idle: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("%s://127.0.0.1:%d/ (idle Socket.IO clients; GET /mem)\n", ao.tls ? "https" : "http",
         sio_app_port(app));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  sio_io_free(io);
  return 0;
}
