/* libFuzzer target for the HTTP/1.1 request parser: the input is fed as a stream of requests,
 * split in two at a position taken from the first byte, through the same head accumulation and
 * body decoding the server does. Checks that spans stay inside the buffer and slices inside
 * the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

static void check_span(sio__span s, size_t len) {
  if ((size_t)s.off + s.len > len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t cut = data[0];
  data++;
  size--;
  if (cut > size) cut = size;
  sio__http_parser p;
  sio__http_parser_init(&p, 4096, 1024, 65536);
  static char acc[8192];
  size_t acc_len = 0;
  int in_body = 0;
  const char *pieces[2] = {(const char *)data, (const char *)data + cut};
  size_t lens[2] = {cut, size - cut};
  for (int k = 0; k < 2; k++) {
    const char *in = pieces[k];
    size_t n = lens[k];
    while (n > 0) {
      if (!in_body) {
        size_t take = n < sizeof(acc) - acc_len ? n : sizeof(acc) - acc_len;
        memcpy(acc + acc_len, in, take);
        size_t before = acc_len;
        acc_len += take;
        long h = sio__http_parse_head(&p, acc, acc_len);
        if (h < 0) {
          if (p.status < 400 || !p.reason) abort();
          return 0;
        }
        if (h == 0) {
          in += take;
          n -= take;
          continue;
        }
        if ((size_t)h > acc_len || (size_t)h <= before) abort();
        check_span(p.method, acc_len);
        check_span(p.target, acc_len);
        for (int i = 0; i < p.n_headers; i++) {
          check_span(p.headers[i].name, acc_len);
          check_span(p.headers[i].value, acc_len);
        }
        in += (size_t)h - before;
        n -= (size_t)h - before;
        in_body = 1;
        acc_len = 0;
      }
      while (!p.body_done && n > 0) {
        const char *o;
        size_t ol;
        long c = sio__http_body(&p, in, n, &o, &ol);
        if (c < 0) return 0;
        if ((size_t)c > n) abort();
        if (ol && (o < in || o + ol > in + c)) abort();
        in += c;
        n -= (size_t)c;
        if (c == 0) break;
      }
      if (p.body_done) {
        sio__http_parser_reset(&p);
        in_body = 0;
      }
    }
  }
  return 0;
}
