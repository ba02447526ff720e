/* libFuzzer target for src/http/template: compiles arbitrary bytes as a Mustache template and
 * renders it over a fixed JSON context. The input is also registered as the partial "self"
 * (so {{>self}} recurses into it) next to a few fixed partials, and the views object has
 * small output and step caps, so every render ends quickly with output or an error code.
 * Checks: no crash, no leak, output within the cap, errors leave the output untouched. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/template.h"
#include "sio/core.h"

#define MAX_OUTPUT (256u << 10)

static const char context_json[] =
    "{\"title\":\"<b>&\\\"'</b>\",\"n\":42,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null,"
    "\"empty\":[],\"s\":\"\",\"list\":[1,\"two\",{\"name\":\"three\",\"list\":[4,5]},[6,7]],"
    "\"obj\":{\"a\":{\"b\":{\"c\":\"deep\"}},\"list\":[{\"x\":1},{\"x\":2}]},"
    "\"tree\":{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3,\"kids\":[]}]}]}}";

static const char *const partials[][2] = {
    {"p", "[{{title}}|{{{title}}}]\n"},
    {"item", "  {{#.}}<li>{{name}}{{.}}</li>{{/.}}\n"},
    {"node", "{{v}}({{#kids}}{{>node}}{{/kids}})"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static json_t *context;
  if (!context) context = json_loads(context_json, 0, NULL);

  sio__views *v = sio__views_new(NULL);
  if (!v) return 0;
  sio__views_set_limits(v, MAX_OUTPUT, 200000);
  for (size_t i = 0; i < sizeof(partials) / sizeof(partials[0]); i++)
    sio__views_add(v, partials[i][0], partials[i][1], strlen(partials[i][1]), NULL, 0);

  char err[128];
  int rc = sio__views_add(v, "self", (const char *)data, size, err, sizeof err);
  if (rc == 0) {
    sio__sbuf out = SIO__SBUF_INIT;
    sio__sbuf_appends(&out, "pre");
    rc = sio__views_render(v, "self", context, &out);
    if (out.len < 3 || memcmp(out.data, "pre", 3) != 0) abort();
    if (rc != 0 && out.len != 3) abort(); /* an error leaves the output as it was */
    if (out.len - 3 > MAX_OUTPUT + size + 4096) abort();
    if (rc != 0 && rc != -ELOOP && rc != -EINVAL && rc != -ENOMEM && rc != SIO_ETOOLARGE) abort();
    sio__sbuf_free(&out);
  } else if (rc != -EINVAL || !err[0]) {
    abort(); /* a syntax error always says where and what */
  }
  sio__views_free(v);
  return 0;
}
