/* Views: a directory of Mustache templates, each read and compiled once, on first use.
 *
 * A views object owns a directory name and a map from template name to compiled template;
 * partials are looked up in the same views object. Names are relative and may not leave the
 * directory; templates may also be added from memory (sio__views_add). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "http/template_internal.h"
#include "sio/core.h"

sio__views *sio__views_new(const char *dir) {
  sio__views *v = sio__calloc(1, sizeof(*v));
  if (!v) return NULL;
  if (dir && !(v->dir = sio__strdup(dir))) {
    sio__free(v);
    return NULL;
  }
  v->cache = (sio__map)SIO__MAP_INIT;
  v->max_output = SIO__TEMPLATE_DEFAULT_MAX_OUTPUT;
  v->max_steps = SIO__TEMPLATE_DEFAULT_MAX_STEPS;
  return v;
}

void sio__views_free(sio__views *v) {
  if (!v) return;
  size_t it = 0;
  sio__map_entry *e;
  while ((e = sio__map_next(&v->cache, &it))) sio__template_free(e->value);
  sio__map_free(&v->cache);
  sio__free(v->dir);
  sio__free(v);
}

void sio__views_set_limits(sio__views *v, size_t max_output, size_t max_steps) {
  if (max_output) v->max_output = max_output;
  if (max_steps) v->max_steps = max_steps;
}

/* Relative names only: no leading '/', no ".." segment, no backslash or control byte. */
static int valid_name(const char *name, size_t len) {
  if (len == 0 || len > 1024 || name[0] == '/') return 0;
  size_t seg = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || name[i] == '/') {
      if (i - seg == 2 && name[seg] == '.' && name[seg + 1] == '.') return 0;
      seg = i + 1;
      continue;
    }
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == 0x7f || ch == '\\') return 0;
  }
  return 1;
}

/* Reads a whole regular file (at most SIO__TEMPLATE_MAX_FILE bytes) into *data. */
static int read_file(const char *path, char **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  int rc = 0;
  char *buf = NULL;
  size_t got = 0;
  if (fstat(fd, &st) != 0)
    rc = -errno;
  else if (!S_ISREG(st.st_mode))
    rc = -ENOENT;
  else if ((uint64_t)st.st_size > SIO__TEMPLATE_MAX_FILE)
    rc = SIO_ETOOLARGE;
  else if (!(buf = sio__malloc((size_t)st.st_size + 1)))
    rc = -ENOMEM;
  while (rc == 0 && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (rc) {
    sio__free(buf);
    return rc;
  }
  *data = buf;
  *len = got;
  return 0;
}

/* Loads dir/name.mustache, else dir/name.html, compiles it and caches it. */
static int load(sio__views *v, const char *name, size_t len, const sio__template **out) {
  static const char *const exts[] = {".mustache", ".html"};
  sio__sbuf path = SIO__SBUF_INIT;
  char *src = NULL;
  size_t srclen = 0;
  int rc = -ENOENT;
  for (size_t i = 0; i < 2 && rc == -ENOENT; i++) {
    sio__sbuf_reset(&path);
    sio__sbuf_printf(&path, "%s/%.*s%s", v->dir, (int)len, name, exts[i]);
    if (path.oom)
      rc = -ENOMEM;
    else
      rc = read_file(path.data, &src, &srclen);
  }
  if (rc) {
    if (rc != -ENOENT && rc != -ENOMEM)
      sio__warn("template %s/%.*s: %s", v->dir, (int)len, name, sio_strerror(rc));
    sio__sbuf_free(&path);
    return rc;
  }
  sio__template *t;
  char err[256];
  rc = sio__template_compile(src, srclen, &t, err, sizeof err);
  sio__free(src);
  if (rc == -EINVAL) sio__warn("template %s: %s", path.data, err);
  sio__sbuf_free(&path);
  if (rc) return rc;
  if ((rc = sio__map_put(&v->cache, name, len, t))) {
    sio__template_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int sio__views_get(sio__views *v, const char *name, size_t len, const sio__template **out) {
  const sio__template *t = sio__map_get(&v->cache, name, len);
  if (t) {
    *out = t;
    return 0;
  }
  if (!valid_name(name, len)) return -EINVAL;
  if (!v->dir) return -ENOENT;
  return load(v, name, len, out);
}

int sio__views_render(sio__views *v, const char *name, const json_t *data, sio__sbuf *out) {
  const sio__template *t;
  int rc = sio__views_get(v, name, strlen(name), &t);
  if (rc) return rc;
  return sio__template_render(t, data, v, out);
}

int sio__views_add(sio__views *v, const char *name, const char *src, size_t len, char *err,
                   size_t errlen) {
  sio__template *t;
  int rc = sio__template_compile(src, len, &t, err, errlen);
  if (rc) return rc;
  size_t nlen = strlen(name);
  sio__template *old = sio__map_get(&v->cache, name, nlen);
  if ((rc = sio__map_put(&v->cache, name, nlen, t))) {
    sio__template_free(t);
    return rc;
  }
  sio__template_free(old);
  return 0;
}
