/* sio WebSocket: a raw RFC 6455 server API in the style of `ws` and uWebSockets.
 *
 *   static void on_message(sio_ws *ws, const char *data, size_t len, int binary, void *user) {
 *     sio_ws_send(ws, data, len, binary);   (echo)
 *   }
 *   sio_app_ws(app, "/chat", &(sio_ws_handlers){ .message = on_message }, NULL, NULL);
 *
 * A path ending in '*' matches every path with that prefix ("/" followed by "*": any path);
 * otherwise the path must match exactly (the query string is ignored).
 *
 * Lifetime: `open` is called once the handshake is answered; `close` is called exactly once
 * when the connection is gone (after the close handshake, a failure, or a timeout), and the
 * sio_ws is freed when it returns. Everything runs on the loop thread.
 *
 * Conventions (as libuv): 0 or a negative error code (sio_strerror); callbacks get the `user`
 * given at registration; per-socket data with sio_ws_set_data. */
#ifndef SIO_WS_H
#define SIO_WS_H

#include <stddef.h>
#include <stdint.h>

#include "sio/core.h"
#include "sio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sio_ws sio_ws;

typedef struct sio_ws_handlers {
  void (*open)(sio_ws *ws, void *user);
  /* A whole message (text is valid UTF-8). data is valid only during the call. */
  void (*message)(sio_ws *ws, const char *data, size_t len, int binary, void *user);
  /* The send buffer, which had gone past its low mark, is empty again. */
  void (*drain)(sio_ws *ws, void *user);
  /* Optional: a ping (already answered) or pong arrived. */
  void (*ping)(sio_ws *ws, const char *data, size_t len, void *user);
  void (*pong)(sio_ws *ws, const char *data, size_t len, void *user);
  /* code: the peer's close code (1005 when none), the code we failed with (1002, 1007, 1009,
   * ...), or 1006 when the connection dropped without a close frame. */
  void (*close)(sio_ws *ws, int code, const char *reason, size_t reason_len, void *user);
} sio_ws_handlers;

/* Origin check: return 1 to allow, 0 to refuse with 403. origin is NULL when absent. */
typedef int (*sio_ws_origin_fn)(const char *origin, void *user);

typedef struct sio_ws_opts {
  size_t max_message_size;   /* default 1000000 (1009 past it); there is no fragment limit */
  size_t max_buffered;       /* send-buffer limit, default 1 MiB */
  int drop_when_full;        /* past the limit: 1 drop the message (SIO_ETOOLARGE), 0 close
                                the connection with 1008 (default) */
  uint32_t idle_timeout_ms;  /* ping after this much silence, close if still silent after as
                                long again; 0: default 120000; UINT32_MAX: never */
  uint32_t close_timeout_ms; /* wait for the peer's close frame / FIN; default 5000 */
  int deflate;               /* accept permessage-deflate offers (RFC 7692); default off */
  int deflate_server_no_context_takeover; /* always ask for it */
  int deflate_window_bits;                /* our compressor's window (9..15), default 15 */
  int deflate_mem_level;                  /* zlib memLevel 1..9, default 8 */
  const char *const *protocols;  /* supported subprotocols, NULL-terminated; the first the client
                                    lists that is here is chosen */
  sio_ws_origin_fn check_origin; /* NULL: any origin */
} sio_ws_opts;

SIO_EXTERN sio_ws_opts sio_ws_opts_default(void);

/* Serves WebSockets at path on the app (see the top of this file for matching). opts may be
 * NULL. The app closes them with 1001 on shutdown, and when it is freed: the route belongs to
 * the app (sio_app_free frees it). */
SIO_EXTERN int sio_app_ws(sio_app *app, const char *path, const sio_ws_handlers *h,
                          const sio_ws_opts *opts, void *user);

/* Sends one message (copied). Returns 0, SIO_ECLOSED once closing, SIO_ETOOLARGE when dropped
 * because the send buffer is past its limit (drop_when_full), or another negative code. */
SIO_EXTERN int sio_ws_send(sio_ws *ws, const void *data, size_t len, int binary);
SIO_EXTERN int sio_ws_send_text(sio_ws *ws, const char *text);
SIO_EXTERN int sio_ws_ping(sio_ws *ws, const void *data, size_t len); /* len <= 125 */
/* Starts the close handshake (code 0: no status; reason <= 123 bytes). Messages that arrive
 * afterwards are discarded; the connection closes when the peer answers or after the close
 * timeout. */
SIO_EXTERN int sio_ws_close(sio_ws *ws, int code, const char *reason);
/* Drops the connection at once (no close frame). */
SIO_EXTERN void sio_ws_terminate(sio_ws *ws);
/* Bytes accepted by sio_ws_send* not yet handed to the kernel. */
SIO_EXTERN size_t sio_ws_buffered_amount(const sio_ws *ws);
/* Stop / restart reading (back-pressure). */
SIO_EXTERN void sio_ws_pause(sio_ws *ws);
SIO_EXTERN void sio_ws_resume(sio_ws *ws);
SIO_EXTERN void sio_ws_set_data(sio_ws *ws, void *data);
SIO_EXTERN void *sio_ws_data(const sio_ws *ws);
SIO_EXTERN const char *sio_ws_protocol(const sio_ws *ws); /* chosen subprotocol, NULL if none */
SIO_EXTERN int sio_ws_compressed(const sio_ws *ws);       /* permessage-deflate in use */
/* Peer address as text; 0 or negative. */
SIO_EXTERN int sio_ws_remote_address(const sio_ws *ws, char *ip, size_t iplen, int *port);

#ifdef __cplusplus
}
#endif
#endif
