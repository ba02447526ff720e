/* Log lines: "2026-11-27T06:52:56.123Z INFO message". The threshold and sink are the one
 * process-wide setting in sio (see sio/core.h); everything else lives in loop-owned objects. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static sio_log_level threshold = SIO_LOG_INFO;
static sio_log_fn sink;
static void *sink_user;

void sio_log_set_level(sio_log_level level) {
  threshold = level;
}

void sio_log_set_sink(sio_log_fn fn, void *user) {
  sink = fn;
  sink_user = user;
}

int sio__log_enabled(sio_log_level level) {
  return level >= threshold && level < SIO_LOG_OFF;
}

static const char *level_name(sio_log_level level) {
  static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  return level >= SIO_LOG_DEBUG && level <= SIO_LOG_ERROR ? names[level] : "?";
}

void sio__log(sio_log_level level, const char *fmt, ...) {
  if (!sio__log_enabled(level)) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (sink) {
    sink(level, msg, sink_user);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), level_name(level),
          msg);
}
