/* sio-server's HTTP client: one POST over plain HTTP/1.1 on the loop (libuv TCP), for the auth
 * hook and the webhook. The library has no HTTP client; this one is small on purpose: http://
 * URLs only, one request per connection (Connection: close), a whole-request timeout, a
 * response of at most 1 MiB (Content-Length, chunked, or up to the close). */
#ifndef SIO_SERVER_HTTPC_H
#define SIO_SERVER_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* status: the HTTP status, or a negative error (-ETIMEDOUT, -ECONNREFUSED, -EPROTO for a
 * malformed answer, -EINVAL for a bad URL...). body: the response body (NUL-terminated), valid
 * during the call. Called exactly once, never from within srv_http_post. */
typedef void (*srv_http_cb)(int status, const char *body, size_t len, void *user);

/* POSTs body (Content-Type: application/json) to url. extra_headers: more header lines, each
 * ending in \r\n, or NULL. 0 or a negative error (then cb is not called). */
int srv_http_post(uv_loop_t *loop, const char *url, const char *extra_headers, const char *body,
                  size_t len, uint32_t timeout_ms, srv_http_cb cb, void *user);

#endif
