/* serveClient: the official browser client (npm socket.io-client, embedded at build time by
 * tools/bin2c.c) at <path>socket.io.js, .min.js, .esm.min.js and their .map files, as Node's
 * socket.io serves it: ETag (a content hash) with 304 on If-None-Match, gzip when the client
 * accepts it (compressed once, on first request, and kept), Cache-Control public, max-age=0.
 *
 * The request is intercepted before the app's own routes (the path is under the Socket.IO
 * prefix: sio_app_intercept); names that are not bundle files fall through to the app. Only
 * the HTTP layer's public calls are used (sio/http.h), as an application would. The bundle is
 * generated at build time (cmake/embed.cmake) and linked in. A library built without it (no
 * node_modules at build time) answers the bundle's names with 404 and a body that says how to get
 * it, rather than passing them to the app, whose 404 would not say why. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/map.h"
#include "socketio/embedded.h"
#include "socketio/io_internal.h"

typedef struct sio__bundle {
  const sio__embedded_file *f;
  sio__buf *gz; /* made on the first request that accepts gzip */
  int gz_failed;
  char etag[24];
} sio__bundle;

static sio__buf *gzip_buf(const unsigned char *data, size_t len) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  z.zalloc = sio__zalloc;
  z.zfree = sio__zfree;
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  size_t cap = deflateBound(&z, (uLong)len) + 32;
  sio__buf *b = sio__buf_new(cap);
  if (!b) {
    deflateEnd(&z);
    return NULL;
  }
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)len;
  z.next_out = (unsigned char *)b->data;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  b->len = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    sio__buf_unref(b);
    return NULL;
  }
  return b;
}

/* What the official server serves under its path: the names of cmake/embed.cmake. */
static const char *const bundle_names[] = {"socket.io.js",         "socket.io.min.js",
                                           "socket.io.js.map",     "socket.io.min.js.map",
                                           "socket.io.esm.min.js", "socket.io.esm.min.js.map"};

static int is_bundle_name(const char *name) {
  for (size_t i = 0; i < sizeof bundle_names / sizeof bundle_names[0]; i++)
    if (strcmp(bundle_names[i], name) == 0) return 1;
  return 0;
}

static void send_not_embedded(sio_res *res) {
  sio_res_status(res, 404);
  sio_res_text(
      res, "socket.io-client is not embedded in this build of sio: node_modules/socket.io-client "
           "was missing when it was built. Run scripts/deps (or make run / make test, which run "
           "it) and build again, or serve the client bundle yourself.\n");
}

static void serve(sio_req *req, sio_res *res, void *user) {
  sio_io *io = user;
  const char *method = sio_req_method(req);
  const char *path = sio_req_path(req);
  size_t pl = strlen(io->path);
  if (io->closing || strncmp(path, io->path, pl) != 0 ||
      (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
    sio_next(req, res);
    return;
  }
  const char *name = path + pl;
  sio__bundle *bd = NULL;
  for (size_t i = 0; i < io->nbundle; i++)
    if (strcmp(io->bundle[i].f->name, name) == 0) bd = &io->bundle[i];
  if (!bd) {
    if (io->nbundle == 0 && is_bundle_name(name))
      send_not_embedded(res);
    else
      sio_next(req, res);
    return;
  }
  size_t nl = strlen(name);
  int is_map = nl > 4 && strcmp(name + nl - 4, ".map") == 0;
  sio_res_set_header(res, "Cache-Control", "public, max-age=0");
  sio_res_set_header(res, "Content-Type",
                     is_map ? "application/json; charset=utf-8"
                            : "application/javascript; charset=utf-8");
  sio_res_set_header(res, "ETag", bd->etag);
  sio_res_set_header(res, "Vary", "Accept-Encoding");
  if (sio_req_fresh(req, bd->etag, -1)) {
    sio_res_status(res, 304);
    sio_res_end(res);
    return;
  }
  int gzip = sio_req_accepts_gzip(req);
  if (gzip && !bd->gz && !bd->gz_failed && !(bd->gz = gzip_buf(bd->f->data, bd->f->len)))
    bd->gz_failed = 1;
  sio_res_status(res, 200);
  if (gzip && bd->gz) {
    sio_res_set_header(res, "Content-Encoding", "gzip");
    sio_res_send(res, bd->gz->data, bd->gz->len);
  } else {
    sio_res_send(res, bd->f->data, bd->f->len); /* the embedded bytes themselves */
  }
}

int sio__serve_client_init(sio_io *io) {
  size_t n = sio__embedded_files_count;
  if (n) {
    io->bundle = sio__calloc(n, sizeof(*io->bundle));
    if (!io->bundle) return -ENOMEM;
  }
  io->nbundle = n;
  for (size_t i = 0; i < n; i++) {
    io->bundle[i].f = &sio__embedded_files[i];
    uint64_t h = sio__hash(sio__embedded_files[i].data, sio__embedded_files[i].len);
    snprintf(io->bundle[i].etag, sizeof io->bundle[i].etag, "\"%016llx\"", (unsigned long long)h);
  }
  size_t pl = strlen(io->path);
  char *prefix = sio__malloc(pl + 16);
  if (!prefix) return -ENOMEM;
  memcpy(prefix, io->path, pl);
  memcpy(prefix + pl, "socket.io", 10); /* every bundle file starts so */
  int rc = sio_app_intercept(io->app, prefix, serve, io);
  sio__free(prefix);
  return rc;
}

void sio__serve_client_free(sio_io *io) {
  for (size_t i = 0; i < io->nbundle; i++) {
    if (io->bundle[i].gz) sio__buf_unref(io->bundle[i].gz);
  }
  sio__free(io->bundle);
  io->bundle = NULL;
  io->nbundle = 0;
}
