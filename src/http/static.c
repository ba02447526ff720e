/* Static files: sio_app_static (a directory under a URL prefix) and sio_res_send_file.
 *
 * Path safety: the URL path is split into segments and each is percent-decoded on its own; a
 * segment that decodes to "..", or contains '/', '\\' or NUL (that is "%2e%2e", "%2f", "%00")
 * is refused with 403 before the file system is touched. The resolved path (realpath, so
 * symlinks are followed) must stay inside the root's realpath, else 404: a symlink leading out
 * of the root serves nothing. Dotfiles are hidden (404) unless allowed.
 *
 * Caching: a weak ETag from size and mtime, Last-Modified; a request whose copy is current
 * (sio_req_fresh, conditional.c: If-None-Match, else If-Modified-Since) gets 304. A single byte
 * range gives 206 (or 416 when unsatisfiable); If-Range that does not match disables the range.
 *
 * The body is streamed: 64 KiB reads through libuv's thread pool (uv_fs_read), each written
 * before the next is asked for, and reading waits while the connection has more than 256 KiB
 * queued (on_drain resumes it). Compressible types are gzipped on the fly (zlib, chunked) when
 * the client accepts gzip and no range was asked for. Opening and stat-ing use the blocking
 * calls (metadata of local files).
 *
 * Small files (up to 64 KiB, 16 MiB per static root) are read once into memory, with their
 * gzip form, and served from there zero-copy while a stat() of the path shows the same file
 * (device, inode, size, mtime): the common case (pages, scripts, icons) costs one stat and
 * one writev. Larger files are never read whole. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/map.h"
#include "http/app_internal.h"
#include "http/mime.h"

#define CHUNK      (64 * 1024)
#define HIGH_WATER (256 * 1024)

int sio__router_use_owned(sio_router *r, const char *prefix, sio_handler_fn fn, void *user,
                          void (*free_user)(void *));

/* A small file kept in memory (and its gzip form when that is smaller), checked against a
 * stat() of the path on every use: serving it costs no file I/O and no compression. */
typedef struct cached_file {
  sio__buf *data, *gz;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  char *real;
} cached_file;

#define CACHE_FILE_MAX  (64 * 1024)
#define CACHE_TOTAL_MAX (16u << 20)

typedef struct static_dir {
  sio__map cache; /* fs path -> cached_file */
  size_t cached_bytes;
  char *root; /* realpath */
  size_t root_len;
  char *index;
  int max_age, no_gzip, dotfiles_allow;
} static_dir;

typedef struct fstream {
  sio_res *res;
  uv_fs_t fsreq;
  int fd;
  uint64_t off, remaining;
  char *buf;
  char *zout;
  z_stream z;
  int gzip, reading, aborted, waiting;
} fstream;

/* --- streaming ------------------------------------------------------------------------------ */
static void stream_free(fstream *st) {
  if (st->fd >= 0) close(st->fd);
  if (st->gzip) deflateEnd(&st->z);
  sio__free(st->buf);
  sio__free(st->zout);
  sio__free(st);
}

static void stream_abort(sio_res *res) {
  fstream *st = res->stream;
  if (!st) return;
  res->stream = NULL;
  res->drain_fn = NULL;
  res->abort_fn = NULL;
  st->res = NULL;
  st->aborted = 1;
  if (!st->reading) stream_free(st);
}

static void stream_done(fstream *st) {
  sio_res *res = st->res;
  res->stream = NULL;
  res->drain_fn = NULL;
  res->abort_fn = NULL;
  stream_free(st);
  sio_res_end(res);
}

static void read_next(fstream *st);

/* Deflates in[0..n) (flush: Z_NO_FLUSH or Z_FINISH) and writes what comes out. */
static int gzip_write(fstream *st, const char *in, size_t n, int flush) {
  st->z.next_in = (Bytef *)in;
  st->z.avail_in = (uInt)n;
  do {
    st->z.next_out = (Bytef *)st->zout;
    st->z.avail_out = CHUNK;
    int zr = deflate(&st->z, flush);
    if (zr == Z_STREAM_ERROR) return -EIO;
    size_t have = CHUNK - st->z.avail_out;
    if (have && sio__res_write_raw(st->res, st->zout, have) < 0) return SIO_ECLOSED;
  } while (st->z.avail_out == 0 || (flush == Z_FINISH && st->z.avail_in > 0));
  return 0;
}

static void on_read(uv_fs_t *r) {
  fstream *st = r->data;
  ssize_t n = r->result;
  uv_fs_req_cleanup(r);
  st->reading = 0;
  if (st->aborted) {
    stream_free(st);
    return;
  }
  sio_res *res = st->res;
  if (n < 0) { /* the file became unreadable mid-way: the length promised cannot be kept */
    res->keep_alive = 0;
    stream_done(st);
    return;
  }
  if (n == 0 && st->remaining > 0 && !st->gzip) { /* file shrank */
    res->keep_alive = 0;
    stream_done(st);
    return;
  }
  if ((uint64_t)n > st->remaining) n = (ssize_t)st->remaining;
  st->off += (uint64_t)n;
  st->remaining -= (uint64_t)n;
  int last = st->remaining == 0 || n == 0;
  int w = st->gzip ? gzip_write(st, st->buf, (size_t)n, last ? Z_FINISH : Z_NO_FLUSH)
                   : sio__res_write_raw(res, st->buf, (size_t)n);
  if (w < 0 || last) {
    stream_done(st);
    return;
  }
  sio__conn *c = sio__req_conn(res->req);
  if (c && sio__conn_buffered(c) > HIGH_WATER) {
    st->waiting = 1;
    sio__conn_want_drain(c);
    return;
  }
  read_next(st);
}

static void read_next(fstream *st) {
  size_t want = st->remaining < CHUNK ? (size_t)st->remaining : CHUNK;
  uv_buf_t b = uv_buf_init(st->buf, (unsigned)want);
  st->fsreq.data = st;
  st->reading = 1;
  if (uv_fs_read(sio_app_loop(st->res->req->app), &st->fsreq, st->fd, &b, 1, (int64_t)st->off,
                 on_read) < 0) {
    st->reading = 0;
    st->res->keep_alive = 0;
    stream_done(st);
  }
}

static void on_drain(sio_res *res) {
  fstream *st = res->stream;
  if (!st || !st->waiting || st->reading) return;
  st->waiting = 0;
  read_next(st);
}

/* --- ranges --------------------------------------------------------- */
/* Parses "bytes=a-b" against size. 1: a range set; 0: no usable range (serve whole);
 * -1: unsatisfiable (416). */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to) {
  if (strncmp(h, "bytes=", 6) != 0) return 0;
  h += 6;
  if (strchr(h, ',')) return 0; /* several ranges: serve the whole file */
  char *end;
  while (*h == ' ') h++;
  if (*h == '-') {
    unsigned long long n = strtoull(h + 1, &end, 10);
    if (end == h + 1 || *end) return 0;
    if (n == 0 || size == 0) return -1;
    *from = n >= size ? 0 : size - n;
    *to = size - 1;
    return 1;
  }
  if (*h < '0' || *h > '9') return 0;
  unsigned long long a = strtoull(h, &end, 10);
  if (*end != '-') return 0;
  const char *bs = end + 1;
  unsigned long long b = size ? size - 1 : 0;
  if (*bs) {
    if (*bs < '0' || *bs > '9') return 0;
    b = strtoull(bs, &end, 10);
    if (*end) return 0;
    if (b < a) return 0;
    if (b >= size) b = size - 1;
  }
  if (a >= size) return -1;
  *from = a;
  *to = b;
  return 1;
}

/* Sends the file at path (already resolved and checked) with st_buf's metadata. */
static int serve_file(sio_req *req, sio_res *res, const char *path, const struct stat *sb,
                      int max_age, int no_gzip, const cached_file *ce) {
  const char *mime = sio__mime_type(path);
  char etag[64], lm[40], buf[64];
  snprintf(etag, sizeof(etag), "W/\"%llx-%llx\"", (unsigned long long)sb->st_size,
           (unsigned long long)sb->st_mtime * 1000ULL +
               (unsigned long long)(sb->st_mtim.tv_nsec / 1000000));
  sio__http_date(sb->st_mtime, lm, sizeof(lm));
  uint64_t size = (uint64_t)sb->st_size;
  snprintf(buf, sizeof(buf), "public, max-age=%d", max_age);
  char have[8];
  if (!sio__res_get_header(res, "Cache-Control", have, sizeof(have)))
    sio_res_set_header(res, "Cache-Control", buf);
  sio_res_set_header(res, "ETag", etag);
  sio_res_set_header(res, "Last-Modified", lm);
  sio_res_set_header(res, "Accept-Ranges", "bytes");
  int compressible = !no_gzip && sio__mime_compressible(mime);
  if (compressible) sio_res_append_header(res, "Vary", "Accept-Encoding");

  if (sio_req_fresh(req, etag, (int64_t)sb->st_mtime)) {
    sio_res_status(res, 304);
    return sio_res_end(res);
  }

  uint64_t from = 0, to = size ? size - 1 : 0;
  int ranged = 0;
  const char *range = sio_req_header(req, "Range");
  const char *ifr = sio_req_header(req, "If-Range");
  if (range && ifr && strcmp(ifr, etag) != 0 && strcmp(ifr, lm) != 0) range = NULL;
  if (range) {
    int pr = parse_range(range, size, &from, &to);
    if (pr < 0) {
      snprintf(buf, sizeof(buf), "bytes */%llu", (unsigned long long)size);
      sio_res_set_header(res, "Content-Range", buf);
      sio_next_error(req, res, 416, "Range Not Satisfiable");
      return 0;
    }
    ranged = pr == 1;
  }
  sio_res_set_header(res, "Content-Type", mime);
  int gzip = compressible && !ranged && size > 0 && sio_req_accepts_gzip(req);
  uint64_t length = size ? to - from + 1 : 0;
  if (ranged) {
    sio_res_status(res, 206);
    snprintf(buf, sizeof(buf), "bytes %llu-%llu/%llu", (unsigned long long)from,
             (unsigned long long)to, (unsigned long long)size);
    sio_res_set_header(res, "Content-Range", buf);
  }
  if (gzip && ce && !ce->gz) gzip = 0; /* compressing did not pay off for this file */
  if (gzip) sio_res_set_header(res, "Content-Encoding", "gzip");
  if (ce) {
    if (gzip) return sio__res_send_buf(res, ce->gz, 0, ce->gz->len);
    return sio__res_send_buf(res, ce->data, (size_t)from, (size_t)length);
  }
  if (res->head_only || length == 0) {
    if (gzip) return sio__res_send_headers(res, -1) < 0 ? -EIO : sio_res_end(res);
    int r = sio__res_send_headers(res, (int64_t)length);
    sio_res_end(res);
    return r;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    sio_next_error(req, res, errno == EACCES ? 403 : 404, NULL);
    return -errno;
  }
  fstream *st = sio__calloc(1, sizeof(*st));
  if (st) st->buf = sio__malloc(CHUNK);
  if (st && gzip) {
    st->zout = sio__malloc(CHUNK);
    st->z.zalloc = sio__zalloc;
    st->z.zfree = sio__zfree;
    if (!st->zout || deflateInit2(&st->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      sio__free(st->zout);
      st->zout = NULL;
      sio__free(st->buf);
      st->buf = NULL;
    } else {
      st->gzip = 1;
    }
  }
  if (!st || !st->buf) {
    close(fd);
    if (st) stream_free(st);
    sio_next_error(req, res, 500, "Out of memory");
    return -ENOMEM;
  }
  st->fd = fd;
  st->res = res;
  st->off = from;
  st->remaining = length;
  res->stream = st;
  res->drain_fn = on_drain;
  res->abort_fn = stream_abort;
  int r = sio__res_send_headers(res, gzip ? -1 : (int64_t)length);
  if (r < 0) {
    stream_abort(res);
    return r;
  }
  read_next(st);
  return 0;
}

int sio_res_send_file(sio_res *res, const char *path) {
  struct stat sb;
  char real[PATH_MAX];
  if (!path || !realpath(path, real) || stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    sio_next_error(res->req, res, 404, "File not found");
    return -ENOENT;
  }
  return serve_file(res->req, res, real, &sb, 0, 0, NULL);
}

/* --- the static middleware --------------------------------------------------------------- */
static void cached_free(cached_file *c) {
  if (!c) return;
  if (c->data) sio__buf_unref(c->data);
  if (c->gz) sio__buf_unref(c->gz);
  sio__free(c->real);
  sio__free(c);
}

static int cache_fresh(const cached_file *c, const struct stat *sb) {
  return c->dev == sb->st_dev && c->ino == sb->st_ino && c->size == sb->st_size &&
         c->mtime.tv_sec == sb->st_mtim.tv_sec && c->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

static sio__buf *gzip_buf(const char *data, size_t len) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  z.zalloc = sio__zalloc;
  z.zfree = sio__zfree;
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  size_t cap = deflateBound(&z, (uLong)len);
  sio__buf *b = sio__buf_new(cap);
  if (b) {
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)b->data;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= len) {
      sio__buf_unref(b);
      b = NULL;
    } else {
      b->len = z.total_out;
    }
  }
  deflateEnd(&z);
  return b;
}

/* Reads a small file into the cache (one read of at most CACHE_FILE_MAX bytes from the page
 * cache; larger files are streamed instead). NULL when it does not qualify. */
static cached_file *cache_fill(static_dir *d, const char *fs, const char *real,
                               const struct stat *sb) {
  if (sb->st_size > CACHE_FILE_MAX || d->cached_bytes + (size_t)sb->st_size > CACHE_TOTAL_MAX)
    return NULL;
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  cached_file *c = sio__calloc(1, sizeof(*c));
  if (c) c->data = sio__buf_new((size_t)sb->st_size + 1);
  if (c) c->real = sio__strdup(real);
  ssize_t n = c && c->data && c->real ? pread(fd, c->data->data, (size_t)sb->st_size + 1, 0) : -1;
  close(fd);
  if (n != sb->st_size) { /* changed while reading: do not cache */
    cached_free(c);
    return NULL;
  }
  c->data->len = (size_t)n;
  c->dev = sb->st_dev;
  c->ino = sb->st_ino;
  c->size = sb->st_size;
  c->mtime = sb->st_mtim;
  if (!d->no_gzip && n > 256 && sio__mime_compressible(sio__mime_type(real)))
    c->gz = gzip_buf(c->data->data, (size_t)n);
  cached_file *old = sio__map_get(&d->cache, fs, strlen(fs));
  if (sio__map_put(&d->cache, fs, strlen(fs), c) < 0) {
    cached_free(c);
    return NULL;
  }
  if (old) {
    d->cached_bytes -= (size_t)old->size + (old->gz ? old->gz->len : 0);
    cached_free(old);
  }
  d->cached_bytes += (size_t)c->size + (c->gz ? c->gz->len : 0);
  return c;
}

static void static_free(void *p) {
  static_dir *d = p;
  size_t i = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&d->cache, &i))) cached_free(e->value);
  sio__map_free(&d->cache);
  sio__free(d->root);
  sio__free(d->index);
  sio__free(d);
}

/* Appends the request path's segments to fs (the root, fl bytes so far), each percent-decoded
 * on its own and checked, and NUL-terminates it: 0, or the status that refuses the path (400 a
 * bad escape; 403 "..", an encoded '/', '\\' or NUL; 404 a hidden dotfile; 500 no memory). */
static int map_path(const static_dir *d, const char *rel, size_t rl, char *fs, size_t *fl) {
  char *seg = sio__malloc(rl + 1);
  if (!seg) return 500;
  int status = 0;
  const char *p = rel;
  while (*p && !status) {
    while (*p == '/') p++;
    const char *e = p;
    while (*e && *e != '/') e++;
    size_t n = (size_t)(e - p);
    if (n) {
      int bad;
      size_t dn = sio__pct_decode(p, n, seg, 0, &bad);
      if (bad)
        status = 400;
      else if (dn != strlen(seg) || strchr(seg, '/') || strchr(seg, '\\'))
        status = 403; /* NUL, encoded slash or backslash */
      else if (strcmp(seg, "..") == 0)
        status = 403;
      else if (strcmp(seg, ".") == 0)
        ;
      else if (seg[0] == '.' && !d->dotfiles_allow)
        status = 404;
      else {
        fs[(*fl)++] = '/';
        memcpy(fs + *fl, seg, dn);
        *fl += dn;
      }
    }
    p = e;
  }
  fs[*fl] = 0;
  sio__free(seg);
  return status;
}

static void refuse_path(sio_req *req, sio_res *res, int status) {
  if (status == 404) {
    sio_next(req, res);
    return;
  }
  sio_next_error(req, res, status,
                 status == 400   ? "Bad path encoding"
                 : status == 403 ? "Forbidden path"
                                 : "Out of memory");
}

/* /dir -> /dir/ (as Express' serve-static), keeping the query. */
static void redirect_to_dir(sio_req *req, sio_res *res) {
  sio__sbuf loc = SIO__SBUF_INIT;
  sio__sbuf_printf(&loc, "%s/%s%s", req->path_raw, *req->query_raw ? "?" : "", req->query_raw);
  if (loc.oom)
    sio_next_error(req, res, 500, "Out of memory");
  else
    sio_res_redirect(res, 301, loc.data);
  sio__sbuf_free(&loc);
}

/* The regular file fs resolves to, in real and sb; 0 if none or if it lies outside the root
 * (symlinks must not lead out of it). */
static int resolve_inside_root(const static_dir *d, const char *fs, char *real, struct stat *sb) {
  if (!realpath(fs, real) || stat(real, sb) != 0 || !S_ISREG(sb->st_mode)) return 0;
  return strncmp(real, d->root, d->root_len) == 0 &&
         (real[d->root_len] == '/' || real[d->root_len] == 0);
}

/* Serves fs (fl bytes, room for the index name after it): from the cache while it is fresh, a
 * directory's index, or the file; anything else falls through to the next handler. */
static void serve_path(sio_req *req, sio_res *res, static_dir *d, char *fs, size_t fl,
                       int trailing) {
  struct stat sb;
  char real[PATH_MAX];
  int st_ok = stat(fs, &sb) == 0;
  cached_file *ce =
      st_ok && S_ISREG(sb.st_mode) && !trailing ? sio__map_get(&d->cache, fs, fl) : NULL;
  if (ce && cache_fresh(ce, &sb)) {
    serve_file(req, res, ce->real, &sb, d->max_age, d->no_gzip, ce);
    return;
  }
  if (st_ok && S_ISDIR(sb.st_mode)) {
    if (!trailing) {
      redirect_to_dir(req, res);
      return;
    }
    if (!d->index) {
      sio_next(req, res);
      return;
    }
    fs[fl++] = '/';
    strcpy(fs + fl, d->index);
    ce = sio__map_get(&d->cache, fs, strlen(fs));
    if (ce && stat(fs, &sb) == 0 && cache_fresh(ce, &sb)) {
      serve_file(req, res, ce->real, &sb, d->max_age, d->no_gzip, ce);
      return;
    }
  } else if (trailing) { /* "file.txt/" is not a directory */
    sio_next(req, res);
    return;
  }
  if (!resolve_inside_root(d, fs, real, &sb)) {
    sio_next(req, res);
    return;
  }
  ce = cache_fill(d, fs, real, &sb);
  serve_file(req, res, real, &sb, d->max_age, d->no_gzip, ce);
}

static void static_mw(sio_req *req, sio_res *res, void *user) {
  static_dir *d = user;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    sio_next(req, res);
    return;
  }
  const char *rel = sio_req_path(req);
  size_t rl = strlen(rel);
  char *fs = sio__malloc(d->root_len + rl + 2 + (d->index ? strlen(d->index) + 1 : 0));
  if (!fs) {
    sio_next_error(req, res, 500, "Out of memory");
    return;
  }
  memcpy(fs, d->root, d->root_len);
  size_t fl = d->root_len;
  int trailing = rl > 0 && rel[rl - 1] == '/';
  int status = map_path(d, rel, rl, fs, &fl);
  if (status)
    refuse_path(req, res, status);
  else
    serve_path(req, res, d, fs, fl, trailing);
  sio__free(fs);
}

int sio_app_static(sio_app *app, const char *prefix, const char *root,
                   const sio_static_opts *opts) {
  char real[PATH_MAX];
  if (!root || !realpath(root, real)) return -errno ? -errno : -ENOENT;
  static_dir *d = sio__calloc(1, sizeof(*d));
  if (!d) return -ENOMEM;
  size_t rl = strlen(real);
  while (rl > 1 && real[rl - 1] == '/') real[--rl] = 0;
  if (rl == 1) rl = 0; /* root "/": every path qualifies */
  d->root = sio__strdup(real);
  d->root_len = rl;
  const char *idx = opts && opts->index ? opts->index : "index.html";
  d->index = *idx ? sio__strdup(idx) : NULL;
  if (!d->root || (*idx && !d->index)) {
    static_free(d);
    return -ENOMEM;
  }
  if (opts) {
    d->max_age = opts->max_age;
    d->no_gzip = opts->no_gzip;
    d->dotfiles_allow = opts->dotfiles_allow;
  }
  int r = sio__router_use_owned(app->root, prefix, static_mw, d, static_free);
  if (r < 0) static_free(d);
  return r;
}
