/* A raw WebSocket client for in-process Socket.IO tests: the upgrade request to
 * /socket.io/ (Host: x) and masked text frames (mask 0), written on a connected uv_tcp_t. */
#ifndef TESTS_UNIT_SOCKETIO_RAW_CLIENT_H
#define TESTS_UNIT_SOCKETIO_RAW_CLIENT_H
#include <string.h>
#include <uv.h>

static const char raw_upgrade[] =
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static inline void raw_write(uv_tcp_t *c, const char *s, size_t n) {
  uv_buf_t b = uv_buf_init((char *)s, (unsigned)n);
  uv_try_write((uv_stream_t *)c, &b, 1);
}

/* One text frame of under 126 bytes. */
static inline void raw_send_text(uv_tcp_t *c, const char *t) {
  char f[256];
  size_t n = strlen(t);
  f[0] = (char)0x81;
  f[1] = (char)(0x80 | n);
  memset(f + 2, 0, 4);
  memcpy(f + 6, t, n);
  raw_write(c, f, n + 6);
}
#endif
