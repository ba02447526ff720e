/* sio-server's log lines, the library's and its own: "time level message" text, or with
 * --log-format json one JSON object per line {"time","level","msg"} (for log collectors).
 * Logging is process-wide configuration (as the library's sink), set once at start. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "server.h"

static int json_format;
static sio_log_level threshold = SIO_LOG_INFO;

static const char *level_name(sio_log_level l) {
  static const char *const n[] = {"debug", "info", "warn", "error"};
  return l <= SIO_LOG_ERROR ? n[l] : "off";
}

uint64_t srv_now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void write_line(sio_log_level level, const char *msg) {
  uint64_t now = srv_now_ms();
  time_t t = (time_t)(now / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char ts[40];
  size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + n, sizeof ts - n, ".%03uZ", (unsigned)(now % 1000));
  if (!json_format) {
    fprintf(stderr, "%s %s %s\n", ts, level_name(level), msg);
    return;
  }
  json_t *o = json_pack("{s:s,s:s,s:s}", "time", ts, "level", level_name(level), "msg", msg);
  char *line = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  if (line) fprintf(stderr, "%s\n", line);
  free(line);
  json_decref(o);
}

/* The library's lines (the message alone). */
static void sink(sio_log_level level, const char *line, void *user) {
  (void)user;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", line);
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
  write_line(level, buf);
}

void srv_log_setup(const srv_config *c) {
  json_format = !strcmp(c->log_format, "json");
  const char *l = c->log_level;
  threshold = !strcmp(l, "debug")   ? SIO_LOG_DEBUG
              : !strcmp(l, "warn")  ? SIO_LOG_WARN
              : !strcmp(l, "error") ? SIO_LOG_ERROR
                                    : SIO_LOG_INFO;
  sio_log_set_level(threshold);
  sio_log_set_sink(sink, NULL);
}

void srv_log(sio_log_level level, const char *fmt, ...) {
  if (level < threshold) return;
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  write_line(level, buf);
}
