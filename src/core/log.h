/* Logging: one line per event, to the sink set with sio_log_set_sink (stderr by default). */
#ifndef SIO_CORE_LOG_H
#define SIO_CORE_LOG_H
#include "sio/core.h"

void sio__log(sio_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sio__log_enabled(sio_log_level level);

#define sio__debug(...) sio__log(SIO_LOG_DEBUG, __VA_ARGS__)
#define sio__info(...)  sio__log(SIO_LOG_INFO, __VA_ARGS__)
#define sio__warn(...)  sio__log(SIO_LOG_WARN, __VA_ARGS__)
#define sio__error(...) sio__log(SIO_LOG_ERROR, __VA_ARGS__)

#endif
