/* Engine.IO JSONP polling, as Node's engine.io (transports/polling-jsonp.js) serves browsers
 * without XMLHttpRequest (engine.io-client 3.x with `jsonp`): a session whose handshake carries
 * a `j` query parameter answers every poll with a script, ___eio[<j's digits>]("<payload>");
 * (the payload as JSON.stringify writes a string, U+2028 and U+2029 escaped too, so that it is
 * valid JavaScript), and takes its POSTs as a form whose `d` field is the payload, with the
 * newline escapes of the client undone. The payload inside is the session's usual one. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/codec.h"
#include "core/json.h"

char *sio__eio_jsonp_index(const char *j) {
  size_t n = 0, len = strlen(j);
  char *digits = sio__malloc(len + 1);
  if (!digits) return NULL;
  for (size_t i = 0; i < len; i++) /* Node keeps the digits only: j.replace(/[^0-9]/g, "") */
    if (j[i] >= '0' && j[i] <= '9') digits[n++] = j[i];
  digits[n] = 0;
  return digits;
}

int sio__eio_jsonp_wrap(const char *index, const char *payload, size_t n, sio__sbuf *out) {
  sio__sbuf js = SIO__SBUF_INIT;
  if (sio__json_escape(&js, payload, n)) {
    sio__sbuf_free(&js);
    return -ENOMEM;
  }
  sio__sbuf_appends(out, "___eio[");
  sio__sbuf_appends(out, index);
  sio__sbuf_appends(out, "](");
  for (size_t i = 0; i < js.len; i++) { /* U+2028, U+2029: E2 80 A8/A9 */
    const unsigned char *u = (const unsigned char *)js.data + i;
    if (i + 2 < js.len && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
      sio__sbuf_appends(out, u[2] == 0xa8 ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      sio__sbuf_appendc(out, js.data[i]);
    }
  }
  sio__sbuf_appends(out, ");");
  sio__sbuf_free(&js);
  return out->oom ? -ENOMEM : 0;
}

/* The client escapes newlines in the payload as \n and backslash-n as \\n: undo both, as
 * Node's two replaces do (/(\\)?\\n/g keeps \\n, turns \n into a newline; then \\n -> \n). */
static void unescape_newlines(const char *s, size_t n, sio__sbuf *out) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'n') {
      sio__sbuf_append(out, "\\n", 2);
      i += 2;
    } else if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') {
      sio__sbuf_appendc(out, '\n');
      i++;
    } else {
      sio__sbuf_appendc(out, s[i]);
    }
  }
}

int sio__eio_jsonp_post_data(const char *body, size_t n, sio__sbuf *out) {
  const char *d = NULL;
  size_t dlen = 0;
  int found = 0;
  for (size_t i = 0; i < n;) { /* querystring.parse(body).d must be one string */
    const char *pair = body + i, *end = memchr(pair, '&', n - i);
    size_t plen = end ? (size_t)(end - pair) : n - i;
    i += plen + 1;
    if (plen >= 1 && pair[0] == 'd' && (plen == 1 || pair[1] == '=')) {
      found++;
      d = plen > 1 ? pair + 2 : pair + 1;
      dlen = plen > 1 ? plen - 2 : 0;
    }
  }
  if (found != 1) return 0;
  char *decoded = sio__malloc(dlen + 1);
  if (!decoded) return -ENOMEM;
  size_t len = sio__pct_decode(d, dlen, decoded, 1, NULL);
  unescape_newlines(decoded, len, out);
  sio__free(decoded);
  return out->oom ? -ENOMEM : 1;
}
