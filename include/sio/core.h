/* sio core: error codes, version, logging and allocator hooks shared by every layer.
 *
 * Like libuv, every sio function that can fail returns 0 or a negative error code. The codes
 * are negative errno values (the same as libuv's UV_E*), plus a few of sio's own below. */
#ifndef SIO_CORE_H
#define SIO_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a function of the public API. libsio is built with hidden visibility, so only what
 * carries this marker is exported from libsio.so; everything internal (sio__) stays inside. */
#if defined(__GNUC__) || defined(__clang__)
#define SIO_EXTERN __attribute__((visibility("default")))
#else
#define SIO_EXTERN
#endif

/* Marks a name kept for one release after its rename: calls still work (the old name is an
 * exported function) but warn, saying what to call instead (docs/socketio.md lists them). */
#if defined(__GNUC__) || defined(__clang__)
#define SIO_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define SIO_DEPRECATED(msg)
#endif

#define SIO_VERSION_MAJOR 0
#define SIO_VERSION_MINOR 1
#define SIO_VERSION_PATCH 0

/* sio's own error codes, outside errno's range. */
enum {
  SIO_EPROTO_HTTP = -30001,  /* malformed HTTP */
  SIO_ETOOLARGE = -30002,    /* a size limit was exceeded */
  SIO_ECLOSED = -30003,      /* the connection or session is closed */
  SIO_ETIMEDOUT = -30004,    /* an ack or request timed out */
  SIO_ENOTFOUND = -30005,    /* no such route, room, namespace or socket */
  SIO_EINVAL_PACKET = -30006 /* a protocol packet could not be decoded */
};

/* TLS configuration errors (sio/tls.h); the file and OpenSSL's reason are logged. */
enum {
  SIO_ETLS_CERT = -30101,  /* the certificate chain cannot be read or parsed */
  SIO_ETLS_KEY = -30102,   /* the private key cannot be read, or does not match the certificate */
  SIO_ETLS_CA = -30103,    /* the client-certificate CA file cannot be read */
  SIO_ETLS_CONFIG = -30104 /* a bad TLS option (version, ciphers, SNI entry) */
};

/* A readable message for an error code (never NULL). */
SIO_EXTERN const char *sio_strerror(int err);

/* "0.1.0" */
SIO_EXTERN const char *sio_version(void);

typedef enum sio_log_level {
  SIO_LOG_DEBUG = 0,
  SIO_LOG_INFO = 1,
  SIO_LOG_WARN = 2,
  SIO_LOG_ERROR = 3,
  SIO_LOG_OFF = 4
} sio_log_level;

/* Where log lines go. The default writes "time level message" lines to stderr. */
typedef void (*sio_log_fn)(sio_log_level level, const char *line, void *user);

/* Process-wide log threshold and sink: logging is configuration, not loop state, so it is the
 * one process-wide setting (as in Redis). Call before starting loops. */
SIO_EXTERN void sio_log_set_level(sio_log_level level);
SIO_EXTERN void sio_log_set_sink(sio_log_fn fn, void *user);

/* Replaces the allocator used by sio and by the libraries it drives (libuv, jansson, zlib,
 * OpenSSL). Call once, before any other sio call. Returns 0 or a negative error code. */
typedef struct sio_allocator {
  void *(*malloc_fn)(size_t size);
  void *(*realloc_fn)(void *ptr, size_t size);
  void *(*calloc_fn)(size_t count, size_t size);
  void (*free_fn)(void *ptr);
} sio_allocator;
SIO_EXTERN int sio_set_allocator(const sio_allocator *a);

#ifdef __cplusplus
}
#endif
#endif
