/* Unit tests for the HTTP/1.1 request parser (src/http/parser.c): byte-exact requests, every
 * error status, pipelining, chunked bodies, and every request split at every byte boundary
 * (the parser must give the same result however the bytes arrive). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

/* What a sequence of requests parsed to: one line per request, "METHOD target 1.x ka=K
 * [hdr=value;...] body=<bytes>", or "ERR status reason". */
typedef struct result {
  char text[8192];
  size_t len;
} result;

static void out(result *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
  va_end(ap);
  if (n > 0) r->len += (size_t)n;
  if (r->len >= sizeof(r->text)) r->len = sizeof(r->text) - 1;
}

/* A miniature server: feeds `data` in pieces cut at `cuts` (ascending offsets), keeping a
 * head accumulation buffer the way the real server does. */
static void run(const char *data, size_t len, const size_t *cuts, size_t ncuts, result *r,
                uint64_t max_body) {
  sio__http_parser p;
  sio__http_parser_init(&p, 1024, 256, max_body);
  char acc[4096];
  size_t acc_len = 0;
  int in_body = 0;
  char body[4096];
  size_t body_len = 0;
  memset(r, 0, sizeof(*r));
  size_t pos = 0;
  for (size_t k = 0; k <= ncuts; k++) {
    size_t end = k < ncuts ? cuts[k] : len;
    const char *in = data + pos;
    size_t n = end - pos;
    pos = end;
    while (n > 0 || in_body == 0) {
      if (!in_body) {
        if (n == 0) break;
        size_t take = n < sizeof(acc) - acc_len ? n : sizeof(acc) - acc_len;
        memcpy(acc + acc_len, in, take);
        size_t before = acc_len;
        acc_len += take;
        long h = sio__http_parse_head(&p, acc, acc_len);
        if (h < 0) {
          out(r, "ERR %d %s\n", p.status, p.reason);
          return;
        }
        if (h == 0) {
          in += take;
          n -= take;
          continue;
        }
        size_t used = (size_t)h - before;
        in += used;
        n -= used;
        out(r, "%.*s %.*s 1.%d ka=%d", (int)p.method.len, acc + p.method.off, (int)p.target.len,
            acc + p.target.off, p.minor, p.keep_alive);
        if (p.expect_continue) out(r, " expect");
        if (p.upgrade) out(r, " upgrade");
        for (int i = 0; i < p.n_headers; i++)
          out(r, " [%.*s=%.*s]", (int)p.headers[i].name.len, acc + p.headers[i].name.off,
              (int)p.headers[i].value.len, acc + p.headers[i].value.off);
        in_body = 1;
        body_len = 0;
        acc_len = 0;
      }
      while (!p.body_done) {
        const char *o;
        size_t ol;
        long c = sio__http_body(&p, in, n, &o, &ol);
        if (c < 0) {
          out(r, "\nERR %d %s\n", p.status, p.reason);
          return;
        }
        if (ol) memcpy(body + body_len, o, ol);
        body_len += ol;
        in += c;
        n -= (size_t)c;
        if (c == 0) break;
      }
      if (!p.body_done) break;
      out(r, " body=%.*s\n", (int)body_len, body);
      sio__http_parser_reset(&p);
      in_body = 0;
    }
  }
  if (in_body || acc_len) out(r, "INCOMPLETE\n");
}

static void parse_whole(const char *req, result *r) {
  run(req, strlen(req), NULL, 0, r, 1 << 20);
}

/* Parses req whole and split at every boundary (one cut) and at every pair of byte positions
 * in steps; all must give the same text. Returns the whole parse. */
static void check(const char *req, const char *expect) {
  result whole, part;
  size_t len = strlen(req);
  parse_whole(req, &whole);
  if (strcmp(whole.text, expect) != 0) {
    fprintf(stderr, "request: %s\n got: %s\nwant: %s\n", req, whole.text, expect);
    fail();
  }
  for (size_t c = 1; c < len; c++) {
    run(req, len, &c, 1, &part, 1 << 20);
    if (strcmp(part.text, expect) != 0) {
      fprintf(stderr, "split at %zu: got %s\n", c, part.text);
      fail();
    }
  }
  /* byte by byte */
  size_t *cuts = malloc(len * sizeof(size_t));
  for (size_t c = 1; c < len; c++) cuts[c - 1] = c;
  run(req, len, cuts, len ? len - 1 : 0, &part, 1 << 20);
  free(cuts);
  assert_string_equal(part.text, expect);
}

static void test_simple_get(void **s) {
  check("GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent:  t \r\n\r\n",
        "GET /index.html?x=1 1.1 ka=1 [Host=a] [User-Agent=t] body=\n");
}

static void test_http10(void **s) {
  check("GET / HTTP/1.0\r\n\r\n", "GET / 1.0 ka=0 body=\n");
  check("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET / 1.0 ka=1 [Connection=keep-alive] body=\n");
  check("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n",
        "GET / 1.1 ka=0 [Host=h] [Connection=foo, Close] body=\n");
}

static void test_lf_only(void **s) {
  check("GET / HTTP/1.1\nHost: x\n\n", "GET / 1.1 ka=1 [Host=x] body=\n");
  check("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / 1.1 ka=1 [Host=x] body=\n");
}

static void test_content_length(void **s) {
  check("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "POST /p 1.1 ka=1 [Host=x] [Content-Length=5] body=hello\n");
  check("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc",
        "POST /p 1.1 ka=1 [Host=x] [Content-Length=3, 3] [content-length=3] body=abc\n");
  check("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "POST /p 1.1 ka=1 [Host=x] [Content-Length=0] body=\n");
}

static void test_chunked(void **s) {
  check("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1;ext=\"v\"\r\n \r\n00a\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
        "POST /c 1.1 ka=1 [Host=x] [Transfer-Encoding=chunked] body=hello 0123456789\n");
  check("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /c 1.1 ka=1 [Host=x] [Transfer-Encoding=chunked] body=\n");
  check("POST /c HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n",
        "POST /c 1.1 ka=1 [Host=x] [Transfer-Encoding=chunked] body=abc\n");
}

static void test_pipelining(void **s) {
  check("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        "\r\nhiGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /a 1.1 ka=1 [Host=x] body=\n"
        "POST /b 1.1 ka=1 [Host=x] [Content-Length=2] body=hi\n"
        "GET /c 1.1 ka=0 [Host=x] [Connection=close] body=\n");
}

static void test_expect_upgrade(void **s) {
  check("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nz",
        "POST / 1.1 ka=1 expect [Host=x] [Expect=100-Continue] [Content-Length=1] body=z\n");
  check("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "GET /ws 1.1 ka=1 upgrade [Host=x] [Upgrade=websocket] [Connection=Upgrade] body=\n");
}

static void test_obs_text_and_empty_value(void **s) {
  check("GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\nX-B: caf\xc3\xa9\tz\r\n\r\n",
        "GET / 1.1 ka=1 [Host=x] [X-A=] [X-B=caf\xc3\xa9\tz] body=\n");
}

static void check_err(const char *req, int status) {
  result r;
  parse_whole(req, &r);
  char want[32];
  snprintf(want, sizeof(want), "ERR %d ", status);
  if (!strstr(r.text, want)) {
    fprintf(stderr, "request: %s\n got: %s\nwant status %d\n", req, r.text, status);
    fail();
  }
  /* same outcome when split anywhere */
  size_t len = strlen(req);
  for (size_t c = 1; c < len; c++) {
    result p;
    run(req, len, &c, 1, &p, 1 << 20);
    if (!strstr(p.text, want)) {
      fprintf(stderr, "split %zu of %s\n got: %s\n", c, req, p.text);
      fail();
    }
  }
}

static void test_errors(void **s) {
  /* malformed request lines */
  check_err("G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  check_err("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  check_err("GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  check_err("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400);
  check_err("GET /\r\nHost: x\r\n\r\n", 400);
  check_err("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400);
  check_err("GET / HTTP/11\r\nHost: x\r\n\r\n", 400);
  /* versions */
  check_err("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
  check_err("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505);
  /* headers */
  check_err("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01c\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400);
  check_err("GET / HTTP/1.1\r\n\r\n", 400);                       /* no Host */
  check_err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two Host */
  /* framing */
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
            "chunked\r\n\r\n",
            400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417);
  /* chunked body errors */
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "11111111111111111\r\n",
            400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\rx", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x01\r\n", 400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n bad\r\n\r\n",
            400);
  check_err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rx", 400);
}

static void test_limits(void **s) {
  /* request line limit is 256 in run(), header block 1024 */
  char big[2048];
  snprintf(big, sizeof(big), "GET /%0300d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  check_err(big, 414);
  /* a long line without its end yet is 414 too */
  result r;
  snprintf(big, sizeof(big), "GET /%0300d", 0);
  parse_whole(big, &r);
  assert_non_null(strstr(r.text, "ERR 414"));
  snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX: %01100d\r\n\r\n", 0);
  check_err(big, 431);
  snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX: %01100d", 0);
  parse_whole(big, &r);
  assert_non_null(strstr(r.text, "ERR 431"));
  /* too many headers */
  char many[8192];
  size_t n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < SIO__HTTP_MAX_HEADERS + 1; i++)
    n += (size_t)snprintf(many + n, sizeof(many) - n, "a:\r\n");
  snprintf(many + n, sizeof(many) - n, "\r\n");
  sio__http_parser p;
  sio__http_parser_init(&p, 8000, 256, 100);
  assert_int_equal(sio__http_parse_head(&p, many, strlen(many)), -1);
  assert_int_equal(p.status, 431);
  /* body limits */
  const char *cl = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
  run(cl, strlen(cl), NULL, 0, &r, 10);
  assert_non_null(strstr(r.text, "ERR 413"));
  const char *ch = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\n12345\r\n6\r\n123456\r\n0\r\n\r\n";
  run(ch, strlen(ch), NULL, 0, &r, 10);
  assert_non_null(strstr(r.text, "ERR 413"));
  run(ch, strlen(ch), NULL, 0, &r, 11);
  assert_null(strstr(r.text, "ERR"));
  /* trailers count against the header limit */
  char tr[4096];
  snprintf(
      tr, sizeof(tr),
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: %01100d\r\n\r\n", 0);
  check_err(tr, 431);
}

static void test_list_has(void **s) {
  assert_true(sio__http_list_has("a, Upgrade ,b", 13, "upgrade"));
  assert_false(sio__http_list_has("upgrades", 8, "upgrade"));
  assert_true(sio__http_list_has(",,close", 7, "close"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_get),     cmocka_unit_test(test_http10),
      cmocka_unit_test(test_lf_only),        cmocka_unit_test(test_content_length),
      cmocka_unit_test(test_chunked),        cmocka_unit_test(test_pipelining),
      cmocka_unit_test(test_expect_upgrade), cmocka_unit_test(test_obs_text_and_empty_value),
      cmocka_unit_test(test_errors),         cmocka_unit_test(test_limits),
      cmocka_unit_test(test_list_has),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
