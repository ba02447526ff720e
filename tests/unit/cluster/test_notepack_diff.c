/* Differential test against notepack.io 3.0.1 itself: runs tests/unit/cluster/notepack_diff.mjs
 * under Node and answers its questions ("E <json>": the msgpack hex sio writes for a JSON
 * text; "D <hex>": the JSON text sio reads from msgpack, or "ERR") until it exits with its
 * verdict. Skipped when Node or the npm package is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/mp_json.h"
#include "core/alloc.h"
#include "node_peer.h"

static void answer(FILE *out, char *line, size_t n) {
  sio__sbuf b = SIO__SBUF_INIT;
  if (line[0] == 'E') {
    int rc = sio__mp_from_json(&b, line + 2, n - 2, NULL, 0);
    node_peer_reply(out, rc, b.data, b.len);
  } else {
    size_t len;
    unsigned char *raw = node_peer_unhex(line, n, &len);
    int rc = sio__mp_to_json(&b, raw, len, NULL, 0);
    if (rc)
      fprintf(out, "ERR %d\n", rc);
    else
      fprintf(out, "%s\n", b.data ? b.data : "");
    free(raw);
  }
  sio__sbuf_free(&b);
}

static void test_against_notepack(void **state) {
  int code = node_peer_run("notepack_diff.mjs", answer);
  if (code == 77 || code == 127) skip(); /* no notepack.io in node_modules, or no Node */
  assert_int_equal(code, 0);
}

int main(void) {
  sio__alloc_hook_libraries();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_notepack)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
