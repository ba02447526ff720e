/* Differential test against notepack.io 3.0.1 itself: runs tests/unit/cluster/notepack_diff.mjs
 * under Node and answers its questions ("E <json>": the msgpack hex sio writes for a JSON
 * text; "D <hex>": the JSON text sio reads from msgpack, or "ERR") until it exits with its
 * verdict. Skipped when Node or the npm package is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/mp_json.h"
#include "core/alloc.h"

static int hexval(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void answer(FILE *out, char *line, size_t n) {
  sio__sbuf b = SIO__SBUF_INIT;
  int rc;
  if (line[0] == 'E') {
    rc = sio__mp_from_json(&b, line + 2, n - 2, NULL, 0);
    if (rc) fprintf(out, "ERR %d\n", rc);
    for (size_t i = 0; !rc && i < b.len; i++) fprintf(out, "%02x", (unsigned char)b.data[i]);
    if (!rc) fputc('\n', out);
  } else {
    size_t len = (n - 2) / 2;
    unsigned char *raw = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
      raw[i] = (unsigned char)(hexval(line[2 + 2 * i]) << 4 | hexval(line[3 + 2 * i]));
    rc = sio__mp_to_json(&b, raw, len, NULL, 0);
    if (rc)
      fprintf(out, "ERR %d\n", rc);
    else
      fprintf(out, "%s\n", b.data ? b.data : "");
    free(raw);
  }
  fflush(out);
  sio__sbuf_free(&b);
}

static void test_against_notepack(void **state) {
  const char *src = getenv("SIO_SOURCE_DIR");
  char script[4096];
  int to_node[2], from_node[2];
  if (!src) skip();
  signal(SIGPIPE, SIG_IGN); /* Node may stop reading once it has its verdict */
  snprintf(script, sizeof script, "%s/tests/unit/cluster/notepack_diff.mjs", src);
  assert_int_equal(pipe(to_node), 0);
  assert_int_equal(pipe(from_node), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(to_node[0], 0), dup2(from_node[1], 1);
    close(to_node[1]), close(from_node[0]);
    execlp("node", "node", script, (char *)NULL);
    _exit(127);
  }
  close(to_node[0]), close(from_node[1]);
  FILE *in = fdopen(from_node[0], "r"), *out = fdopen(to_node[1], "w");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, in)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    if (n >= 2) answer(out, line, (size_t)n);
  }
  free(line);
  fclose(in), fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code == 77 || code == 127) skip(); /* no notepack.io in node_modules, or no Node */
  assert_int_equal(code, 0);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_notepack)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
