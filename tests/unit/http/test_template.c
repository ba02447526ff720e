/* Unit tests for src/http/template: the Mustache spec's interpolation, sections, inverted
 * sections, comments, partials, delimiters and whitespace rules (as table cases), escaping,
 * value formatting, syntax errors with positions, the partial recursion limit, output and
 * step limits, views loaded from a directory (names that escape it are refused), and
 * allocation failure at every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "http/template.h"
#include "sio/core.h"

typedef struct tcase {
  const char *desc;
  const char *tmpl;
  const char *data;     /* JSON */
  const char *partials; /* JSON object name -> source, or NULL */
  const char *expected;
} tcase;

static const tcase cases[] = {
    /* interpolation */
    {"no tags", "Hello from {Mustache}!\n", "{}", NULL, "Hello from {Mustache}!\n"},
    {"basic", "Hello, {{subject}}!\n", "{\"subject\":\"world\"}", NULL, "Hello, world!\n"},
    {"html escaping", "These characters should be HTML escaped: {{forbidden}}\n",
     "{\"forbidden\":\"& \\\" < > '\"}", NULL,
     "These characters should be HTML escaped: &amp; &quot; &lt; &gt; &#39;\n"},
    {"triple mustache", "{{{forbidden}}}", "{\"forbidden\":\"& \\\" < >\"}", NULL, "& \" < >"},
    {"ampersand", "{{&forbidden}}", "{\"forbidden\":\"& \\\" < >\"}", NULL, "& \" < >"},
    {"integer", "\"{{mph}} miles an hour!\"", "{\"mph\":85}", NULL, "\"85 miles an hour!\""},
    {"negative integer", "{{n}}", "{\"n\":-9007199254740993}", NULL, "-9007199254740993"},
    {"decimal", "\"{{power}} jiggawatts!\"", "{\"power\":1.210}", NULL, "\"1.21 jiggawatts!\""},
    {"integral real", "{{x}}", "{\"x\":2.0}", NULL, "2"},
    {"real round trip", "{{x}}", "{\"x\":0.1}", NULL, "0.1"},
    {"real small", "{{x}}", "{\"x\":1e-7}", NULL, "1e-07"},
    {"booleans", "{{t}} {{f}}", "{\"t\":true,\"f\":false}", NULL, "true false"},
    {"null", "I ({{cannot}}) be seen!", "{\"cannot\":null}", NULL, "I () be seen!"},
    {"context miss", "I ({{cannot}}) be seen!", "{}", NULL, "I () be seen!"},
    {"array as json, escaped", "{{a}}|{{{a}}}", "{\"a\":[1,\"<\"]}", NULL,
     "[1,&quot;&lt;&quot;]|[1,\"<\"]"},
    {"dotted names", "\"{{person.name}}\" == \"{{#person}}{{name}}{{/person}}\"",
     "{\"person\":{\"name\":\"Joe\"}}", NULL, "\"Joe\" == \"Joe\""},
    {"dotted arbitrary depth", "{{a.b.c.d.e.name}}",
     "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"name\":\"Phil\"}}}}}}", NULL, "Phil"},
    {"dotted broken chain", "\"{{a.b.c}}\" == \"\"", "{\"a\":{}}", NULL, "\"\" == \"\""},
    {"dotted broken chain resolution", "\"{{a.b.c.name}}\" == \"\"",
     "{\"a\":{\"b\":{}},\"c\":{\"name\":\"Jim\"}}", NULL, "\"\" == \"\""},
    {"dotted initial resolution", "\"{{#a}}{{b.c.d.e.name}}{{/a}}\" == \"Phil\"",
     "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"name\":\"Phil\"}}}}},"
     "\"b\":{\"c\":{\"d\":{\"e\":{\"name\":\"Wrong\"}}}}}",
     NULL, "\"Phil\" == \"Phil\""},
    {"dotted context precedence", "{{#a}}{{b.c}}{{/a}}",
     "{\"a\":{\"b\":{}},\"b\":{\"c\":\"ERROR\"}}", NULL, ""},
    {"array index", "{{list.1}}", "{\"list\":[\"a\",\"b\"]}", NULL, "b"},
    {"implicit iterator string", "{{.}}", "\"<hi>\"", NULL, "&lt;hi&gt;"},
    {"implicit iterator number", "{{.}}", "42", NULL, "42"},
    {"padding", "|{{ string }}|{{{ string }}}|{{& string }}|", "{\"string\":\"---\"}", NULL,
     "|---|---|---|"},
    {"interpolation standalone stays", "  {{string}}\n", "{\"string\":\"---\"}", NULL, "  ---\n"},
    {"binary-safe string", "[{{s}}]", "{\"s\":\"a\\u0000b\"}", NULL, "[a\0b]"},
    /* sections */
    {"truthy", "\"{{#boolean}}This should be rendered.{{/boolean}}\"", "{\"boolean\":true}", NULL,
     "\"This should be rendered.\""},
    {"falsey", "\"{{#boolean}}This should not be rendered.{{/boolean}}\"", "{\"boolean\":false}",
     NULL, "\"\""},
    {"null is falsey", "\"{{#null}}This should not be rendered.{{/null}}\"", "{\"null\":null}",
     NULL, "\"\""},
    {"empty string and zero are falsey", "[{{#s}}x{{/s}}{{#z}}y{{/z}}{{#r}}w{{/r}}]",
     "{\"s\":\"\",\"z\":0,\"r\":0.0}", NULL, "[]"},
    {"context", "\"{{#context}}Hi {{name}}.{{/context}}\"", "{\"context\":{\"name\":\"Joe\"}}",
     NULL, "\"Hi Joe.\""},
    {"parent contexts", "\"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}\"",
     "{\"a\":\"foo\",\"b\":\"wrong\",\"sec\":{\"b\":\"bar\"},\"c\":{\"d\":\"baz\"}}", NULL,
     "\"foo, bar, baz\""},
    {"variable test", "\"{{#foo}}{{.}} is {{foo}}{{/foo}}\"", "{\"foo\":\"bar\"}", NULL,
     "\"bar is bar\""},
    {"list", "\"{{#list}}{{item}}{{/list}}\"",
     "{\"list\":[{\"item\":1},{\"item\":2},{\"item\":3}]}", NULL, "\"123\""},
    {"empty list", "\"{{#list}}Yay lists!{{/list}}\"", "{\"list\":[]}", NULL, "\"\""},
    {"implicit iterator", "\"{{#list}}({{.}}){{/list}}\"",
     "{\"list\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", NULL, "\"(a)(b)(c)(d)(e)\""},
    {"implicit iterator integers", "\"{{#list}}({{.}}){{/list}}\"", "{\"list\":[1,2,3]}", NULL,
     "\"(1)(2)(3)\""},
    {"implicit iterator decimals", "\"{{#list}}({{.}}){{/list}}\"", "{\"list\":[1.1,2.2,3.3]}",
     NULL, "\"(1.1)(2.2)(3.3)\""},
    {"implicit iterator arrays", "\"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}\"",
     "{\"list\":[[1,2,3],[\"a\",\"b\",\"c\"]]}", NULL, "\"(123)(abc)\""},
    {"doubled", "{{#bool}}\n* first\n{{/bool}}\n* {{two}}\n{{#bool}}\n* third\n{{/bool}}\n",
     "{\"bool\":true,\"two\":\"second\"}", NULL, "* first\n* second\n* third\n"},
    {"nested truthy", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", "{\"bool\":true}", NULL,
     "| A B C D E |"},
    {"nested falsey", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", "{\"bool\":false}", NULL,
     "| A  E |"},
    {"context misses", "[{{#missing}}Found key 'missing'!{{/missing}}]", "{}", NULL, "[]"},
    {"dotted section truthy", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"Here\"",
     "{\"a\":{\"b\":{\"c\":true}}}", NULL, "\"Here\" == \"Here\""},
    {"dotted section broken", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", "{\"a\":{}}", NULL,
     "\"\" == \"\""},
    {"deeply nested contexts",
     "{{#a}}{{one}}{{#b}}{{one}}{{two}}{{one}}{{#c}}{{one}}{{two}}{{three}}{{two}}{{one}}{{/c}}"
     "{{one}}{{two}}{{one}}{{/b}}{{one}}{{/a}}",
     "{\"a\":{\"one\":1},\"b\":{\"two\":2},\"c\":{\"three\":3}}", NULL, "1121123211211"},
    {"list of lists of objects", "{{#rows}}<tr>{{#cells}}<td>{{v}}</td>{{/cells}}</tr>{{/rows}}",
     "{\"rows\":[{\"cells\":[{\"v\":1},{\"v\":2}]},{\"cells\":[{\"v\":3}]}]}", NULL,
     "<tr><td>1</td><td>2</td></tr><tr><td>3</td></tr>"},
    {"surrounding whitespace", " | {{#boolean}}\t|\t{{/boolean}} | \n", "{\"boolean\":true}", NULL,
     " | \t|\t | \n"},
    {"internal whitespace", " | {{#boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n",
     "{\"boolean\":true}", NULL, " |  \n  | \n"},
    {"indented inline sections", " {{#boolean}}YES{{/boolean}}\n {{#boolean}}GOOD{{/boolean}}\n",
     "{\"boolean\":true}", NULL, " YES\n GOOD\n"},
    {"standalone lines", "| This Is\n{{#boolean}}\n|\n{{/boolean}}\n| A Line\n",
     "{\"boolean\":true}", NULL, "| This Is\n|\n| A Line\n"},
    {"indented standalone lines", "| This Is\n  {{#boolean}}\n|\n  {{/boolean}}\n| A Line\n",
     "{\"boolean\":true}", NULL, "| This Is\n|\n| A Line\n"},
    {"standalone line endings", "|\r\n{{#boolean}}\r\n{{/boolean}}\r\n|", "{\"boolean\":true}",
     NULL, "|\r\n|"},
    {"standalone without previous line", "  {{#boolean}}\n#{{/boolean}}\n/", "{\"boolean\":true}",
     NULL, "#\n/"},
    {"standalone without newline", "#{{#boolean}}\n/\n  {{/boolean}}", "{\"boolean\":true}", NULL,
     "#\n/\n"},
    {"section padding", "|{{# boolean }}={{/ boolean }}|", "{\"boolean\":true}", NULL, "|=|"},
    /* inverted */
    {"inverted falsey", "\"{{^boolean}}This should be rendered.{{/boolean}}\"",
     "{\"boolean\":false}", NULL, "\"This should be rendered.\""},
    {"inverted truthy", "\"{{^boolean}}This should not be rendered.{{/boolean}}\"",
     "{\"boolean\":true}", NULL, "\"\""},
    {"inverted null", "\"{{^null}}This should be rendered.{{/null}}\"", "{\"null\":null}", NULL,
     "\"This should be rendered.\""},
    {"inverted context", "\"{{^context}}Hi {{name}}.{{/context}}\"",
     "{\"context\":{\"name\":\"Joe\"}}", NULL, "\"\""},
    {"inverted list", "\"{{^list}}{{n}}{{/list}}\"", "{\"list\":[{\"n\":1},{\"n\":2}]}", NULL,
     "\"\""},
    {"inverted empty list", "\"{{^list}}Yay lists!{{/list}}\"", "{\"list\":[]}", NULL,
     "\"Yay lists!\""},
    {"inverted doubled",
     "{{^bool}}\n* first\n{{/bool}}\n* {{two}}\n{{^bool}}\n* third\n{{/bool}}\n",
     "{\"bool\":false,\"two\":\"second\"}", NULL, "* first\n* second\n* third\n"},
    {"inverted context misses", "[{{^missing}}Found key 'missing'!{{/missing}}]", "{}", NULL,
     "[Found key 'missing'!]"},
    {"inverted dotted broken", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", "{\"a\":{}}",
     NULL, "\"Not Here\" == \"Not Here\""},
    {"inverted standalone", "| This Is\n{{^boolean}}\n|\n{{/boolean}}\n| A Line\n",
     "{\"boolean\":false}", NULL, "| This Is\n|\n| A Line\n"},
    {"if/else", "{{#user}}Hi {{name}}{{/user}}{{^user}}Log in{{/user}}", "{\"user\":null}", NULL,
     "Log in"},
    /* comments */
    {"inline comment", "12345{{! Comment Block! }}67890", "{}", NULL, "1234567890"},
    {"multiline comment", "12345{{!\n  This is a\n  multi-line comment...\n}}67890\n", "{}", NULL,
     "1234567890\n"},
    {"standalone comment", "Begin.\n{{! Comment Block! }}\nEnd.\n", "{}", NULL, "Begin.\nEnd.\n"},
    {"indented standalone comment", "Begin.\n  {{! Indented Comment Block! }}\nEnd.\n", "{}", NULL,
     "Begin.\nEnd.\n"},
    {"standalone comment crlf", "|\r\n{{! Standalone Comment }}\r\n|", "{}", NULL, "|\r\n|"},
    {"standalone comment no previous line", "  {{! I'm Still Standalone }}\n!", "{}", NULL, "!"},
    {"standalone comment no newline", "!\n  {{! I'm Still Standalone }}", "{}", NULL, "!\n"},
    {"multiline standalone comment", "Begin.\n{{!\nSomething's going on here...\n}}\nEnd.\n", "{}",
     NULL, "Begin.\nEnd.\n"},
    {"inline comment keeps spaces", "  12 {{! 34 }}\n", "{}", NULL, "  12 \n"},
    {"comment with braces", "12345 {{! Comment Block! }} 67890{{! }} }}", "{}", NULL,
     "12345  67890 }}"},
    {"two tags one line not standalone", "{{#a}}{{/a}}\n", "{\"a\":true}", NULL, "\n"},
    /* partials */
    {"basic partial", "\"{{>text}}\"", "{}", "{\"text\":\"from partial\"}", "\"from partial\""},
    {"failed lookup", "\"{{>text}}\"", "{}", "{}", "\"\""},
    {"partial context", "\"{{>partial}}\"", "{\"text\":\"content\"}",
     "{\"partial\":\"*{{text}}*\"}", "\"*content*\""},
    {"partial recursion", "{{>node}}",
     "{\"content\":\"X\",\"nodes\":[{\"content\":\"Y\",\"nodes\":[]}]}",
     "{\"node\":\"{{content}}<{{#nodes}}{{>node}}{{/nodes}}>\"}", "X<Y<>>"},
    {"partial nested", "{{>outer}}", "{\"a\":\"hello\",\"b\":\"world\"}",
     "{\"outer\":\"*{{a}} {{>inner}}*\",\"inner\":\"{{b}}!\"}", "*hello world!*"},
    {"partial surrounding whitespace", "| {{>partial}} |", "{}", "{\"partial\":\"\\t|\\t\"}",
     "| \t|\t |"},
    {"partial inline indentation", "  {{data}}  {{> partial}}\n", "{\"data\":\"|\"}",
     "{\"partial\":\">\\n>\"}", "  |  >\n>\n"},
    {"partial standalone crlf", "|\r\n{{>partial}}\r\n|", "{}", "{\"partial\":\">\"}", "|\r\n>|"},
    {"partial standalone no previous line", "  {{>partial}}\n>", "{}", "{\"partial\":\">\\n>\"}",
     "  >\n  >>"},
    {"partial standalone no newline", ">\n  {{>partial}}", "{}", "{\"partial\":\">\\n>\"}",
     ">\n  >\n  >"},
    {"partial standalone indentation", "\\\n {{>partial}}\n/\n", "{\"content\":\"<\\n->\"}",
     "{\"partial\":\"|\\n{{{content}}}\\n|\\n\"}", "\\\n |\n <\n->\n |\n/\n"},
    {"partial padding", "|{{> partial }}|", "{\"boolean\":true}", "{\"partial\":\"[]\"}", "|[]|"},
    {"partial in section", "{{#items}}{{>item}}{{/items}}", "{\"items\":[{\"n\":1},{\"n\":2}]}",
     "{\"item\":\"<li>{{n}}</li>\"}", "<li>1</li><li>2</li>"},
    /* delimiters */
    {"pair behavior", "{{=<% %>=}}(<%text%>)", "{\"text\":\"Hey!\"}", NULL, "(Hey!)"},
    {"special characters", "({{=[ ]=}}[text])", "{\"text\":\"It worked!\"}", NULL, "(It worked!)"},
    {"delimiter sections",
     "[\n{{#section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n|#section|\n  {{data}}\n"
     "  |data|\n|/section|\n]\n",
     "{\"section\":true,\"data\":\"I got interpolated.\"}", NULL,
     "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n"},
    {"delimiter inverted",
     "[\n{{^section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n|^section|\n  {{data}}\n"
     "  |data|\n|/section|\n]\n",
     "{\"section\":false,\"data\":\"I got interpolated.\"}", NULL,
     "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n"},
    {"delimiters in partial stay there", "[ {{>include}} ]\n{{= | | =}}\n[ |>include| ]\n",
     "{\"value\":\"yes\"}", "{\"include\":\".{{value}}.\"}", "[ .yes. ]\n[ .yes. ]\n"},
    {"post-partial delimiters", "[ {{>include}} ]\n[ .{{value}}.  .|value|. ]\n",
     "{\"value\":\"yes\"}", "{\"include\":\".{{value}}. {{= | | =}} .|value|.\"}",
     "[ .yes.  .yes. ]\n[ .yes.  .|value|. ]\n"},
    {"delimiter surrounding whitespace", "| {{=@ @=}} |", "{}", NULL, "|  |"},
    {"delimiter outlying whitespace", " | {{=@ @=}}\n", "{}", NULL, " | \n"},
    {"delimiter standalone", "Begin.\n{{=@ @=}}\nEnd.\n", "{}", NULL, "Begin.\nEnd.\n"},
    {"delimiter indented standalone", "Begin.\n  {{=@ @=}}\nEnd.\n", "{}", NULL, "Begin.\nEnd.\n"},
    {"delimiter standalone crlf", "|\r\n{{= @ @ =}}\r\n|", "{}", NULL, "|\r\n|"},
    {"delimiter standalone no newline", "=\n  {{=@ @=}}", "{}", NULL, "=\n"},
    {"pair with padding", "|{{= @   @ =}}|", "{}", NULL, "||"},
    {"triple with custom delimiters", "{{=<% %>=}}<%{x}%> <%&x%>", "{\"x\":\"<\"}", NULL, "< <"},
    /* odds and ends */
    {"lone braces are text", "a { b } c {{ and }} d", "{\"and\":\"&\"}", NULL, "a { b } c &amp; d"},
    {"empty template", "", "{}", NULL, ""},
    {"null context", "[{{a}}{{.}}{{#a}}x{{/a}}{{^a}}y{{/a}}]", "null", NULL, "[y]"},
    {"object as json", "{{{o}}}", "{\"o\":{\"k\":[true,null]}}", NULL, "{\"k\":[true,null]}"},
    {"utf8", "{{s}}", "{\"s\":\"h\\u00e9llo \\u2603\"}", NULL, "h\xc3\xa9llo \xe2\x98\x83"},
};

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
  if (!v) fail_msg("bad JSON in test: %s (%s)", text, e.text);
  return v;
}

/* A views object holding the given partials (JSON object name -> source). */
static sio__views *views_with(const char *partials) {
  sio__views *v = sio__views_new(NULL);
  assert_non_null(v);
  json_t *p = parse(partials);
  const char *name;
  json_t *src;
  char err[128];
  json_object_foreach(p, name, src) {
    int rc =
        sio__views_add(v, name, json_string_value(src), json_string_length(src), err, sizeof err);
    if (rc) fail_msg("partial %s: %s", name, err);
  }
  json_decref(p);
  return v;
}

static void test_spec_cases(void **state) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const tcase *c = &cases[i];
    sio__template *t;
    char err[256];
    int rc = sio__template_compile(c->tmpl, strlen(c->tmpl), &t, err, sizeof err);
    if (rc) fail_msg("%s: compile failed: %s", c->desc, err);
    json_t *data = parse(c->data);
    sio__views *v = c->partials ? views_with(c->partials) : NULL;
    sio__sbuf out = SIO__SBUF_INIT;
    rc = sio__template_render(t, data, v, &out);
    if (rc) fail_msg("%s: render failed: %d", c->desc, rc);
    size_t elen = strcmp(c->desc, "binary-safe string") == 0 ? 5 : strlen(c->expected);
    if (out.len != elen || memcmp(out.data ? out.data : "", c->expected, elen) != 0)
      fail_msg("%s:\n  template %s\n  expected [%s]\n  got      [%s]", c->desc, c->tmpl,
               c->expected, out.data ? out.data : "");
    sio__sbuf_free(&out);
    sio__views_free(v);
    json_decref(data);
    sio__template_free(t);
  }
}

/* Compiling `src` fails with -EINVAL and an error naming the position and the problem. */
static void expect_error(const char *src, const char *where, const char *what) {
  sio__template *t = (sio__template *)(uintptr_t)1;
  char err[256];
  int rc = sio__template_compile(src, strlen(src), &t, err, sizeof err);
  if (rc != -EINVAL) fail_msg("%s: expected -EINVAL, got %d", src, rc);
  assert_null(t);
  if (!strstr(err, where) || !strstr(err, what))
    fail_msg("%s: error [%s] lacks [%s] / [%s]", src, err, where, what);
}

static void test_syntax_errors(void **state) {
  expect_error("abc {{name", "line 1, column 5", "unclosed tag");
  expect_error("x\n  {{{name}}", "line 2, column 3", "unclosed tag");
  expect_error("{{#a}}\n{{/b}}", "line 2, column 1", "does not match 'a'");
  expect_error("{{#a}}{{#b}}{{/a}}{{/b}}", "column 13", "does not match 'b'");
  expect_error("ok\n{{#list}} never closed", "line 2, column 4", "'list' is not closed");
  expect_error("{{/a}}", "line 1, column 1", "without an open section");
  expect_error("{{}}", "column 1", "empty tag name");
  expect_error("{{#  }}{{/}}", "column 1", "empty tag name");
  expect_error("{{a b}}", "column 1", "space inside tag name");
  expect_error("{{=<%%>=}}", "column 1", "two delimiters");
  expect_error("{{= a b c =}}", "column 1", "two delimiters");
  expect_error("{{=a= b=}}", "column 1", "'='");
  expect_error("{{=<% %>=}}<%x", "column 12", "unclosed tag");
  expect_error("{{! comment never ends", "column 1", "unclosed tag");
  /* nesting limit */
  char deep[(SIO__TEMPLATE_MAX_NESTING + 1) * 6 + 1];
  size_t n = 0;
  for (int i = 0; i <= SIO__TEMPLATE_MAX_NESTING; i++) n += (size_t)sprintf(deep + n, "{{#a}}");
  expect_error(deep, "line 1", "nested more than");
  /* no error buffer is fine */
  sio__template *t;
  assert_int_equal(sio__template_compile("{{", 2, &t, NULL, 0), -EINVAL);
}

static int render_str(const sio__template *t, const char *data, sio__views *v, sio__sbuf *out) {
  json_t *d = parse(data);
  int rc = sio__template_render(t, d, v, out);
  json_decref(d);
  return rc;
}

static void test_partial_recursion_limit(void **state) {
  sio__views *v = views_with("{\"loop\":\"x{{>loop}}\"}");
  sio__template *t;
  assert_int_equal(sio__template_compile("<{{>loop}}>", 11, &t, NULL, 0), 0);
  sio__sbuf out = SIO__SBUF_INIT;
  sio__sbuf_appends(&out, "keep");
  assert_int_equal(render_str(t, "{}", v, &out), -ELOOP);
  assert_string_equal(out.data, "keep"); /* left as before the call */
  /* the same recursion bounded by data is fine */
  assert_int_equal(sio__views_add(v, "loop", "{{#next}}x{{>loop}}{{/next}}", 28, NULL, 0), 0);
  sio__sbuf_reset(&out);
  assert_int_equal(render_str(t, "{\"next\":{\"next\":{\"next\":false}}}", v, &out), 0);
  assert_string_equal(out.data, "<xx>");
  sio__sbuf_free(&out);
  sio__template_free(t);
  sio__views_free(v);
}

static void test_limits(void **state) {
  /* exponential fan-out through a partial stops at the output cap */
  sio__views *v = views_with("{\"p\":\"{{#l}}{{#l}}{{#l}}xxxxxxxxxxxxxxxx{{/l}}{{/l}}{{/l}}\"}");
  sio__views_set_limits(v, 4096, 0);
  sio__template *t;
  assert_int_equal(sio__template_compile("{{#l}}{{>p}}{{/l}}", 18, &t, NULL, 0), 0);
  sio__sbuf out = SIO__SBUF_INIT;
  assert_int_equal(render_str(t, "{\"l\":[1,2,3,4,5,6,7,8,9,10]}", v, &out), SIO_ETOOLARGE);
  assert_int_equal(out.len, 0);
  sio__template_free(t);
  /* nested loops producing nothing stop at the step cap */
  sio__views_set_limits(v, 0, 10000);
  const char *nest = "{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}";
  assert_int_equal(sio__template_compile(nest, strlen(nest), &t, NULL, 0), 0);
  assert_int_equal(render_str(t, "{\"l\":[1,2,3,4,5,6,7,8,9,10]}", v, &out), SIO_ETOOLARGE);
  sio__views_set_limits(v, 0, 10000000);
  assert_int_equal(render_str(t, "{\"l\":[1,2,3,4,5,6,7,8,9,10]}", v, &out), 0);
  sio__template_free(t);
  sio__sbuf_free(&out);
  sio__views_free(v);
}

/* --- views over a directory --------------------------------------------------------------- */

static char dir[64];

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup_dir(void **state) {
  strcpy(dir, "/tmp/sio-views-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  char sub[128];
  snprintf(sub, sizeof sub, "%s/parts", dir);
  mkdir(sub, 0700);
  write_file("index.mustache", "<h1>{{title}}</h1>\n{{>parts/list}}{{>missing}}");
  write_file("parts/list.html", "<ul>\n  {{#items}}\n  <li>{{.}}</li>\n  {{/items}}\n</ul>\n");
  write_file("both.mustache", "mustache");
  write_file("both.html", "html");
  write_file("broken.mustache", "ok\n{{#a}}\n{{/b}}\n");
  write_file("usesbroken.html", "[{{>broken}}]");
  return 0;
}

static int teardown_dir(void **state) {
  const char *names[] = {"index.mustache",  "parts/list.html", "both.mustache", "both.html",
                         "broken.mustache", "usesbroken.html", "parts",         ""};
  char path[256];
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    remove(path);
  }
  return 0;
}

static void test_views_dir(void **state) {
  sio__views *v = sio__views_new(dir);
  assert_non_null(v);
  sio__sbuf out = SIO__SBUF_INIT;
  json_t *data = parse("{\"title\":\"A&B\",\"items\":[\"x\",\"<y>\"]}");
  assert_int_equal(sio__views_render(v, "index", data, &out), 0);
  assert_string_equal(out.data,
                      "<h1>A&amp;B</h1>\n<ul>\n  <li>x</li>\n  <li>&lt;y&gt;</li>\n</ul>\n");
  /* cached: the file can go away */
  char path[256];
  snprintf(path, sizeof path, "%s/index.mustache", dir);
  rename(path, "/tmp/sio-views-moved.mustache");
  sio__sbuf_reset(&out);
  assert_int_equal(sio__views_render(v, "index", data, &out), 0);
  assert_string_equal(out.data,
                      "<h1>A&amp;B</h1>\n<ul>\n  <li>x</li>\n  <li>&lt;y&gt;</li>\n</ul>\n");
  rename("/tmp/sio-views-moved.mustache", path);
  sio__sbuf_reset(&out);
  assert_int_equal(sio__views_render(v, "both", data, &out), 0);
  assert_string_equal(out.data, "mustache");
  sio__sbuf_reset(&out);
  assert_int_equal(sio__views_render(v, "nope", data, &out), -ENOENT);
  assert_int_equal(sio__views_render(v, "parts", data, &out), -ENOENT);
  assert_int_equal(sio__views_render(v, "broken", data, &out), -EINVAL);
  assert_int_equal(sio__views_render(v, "usesbroken", data, &out), -EINVAL);
  assert_int_equal(out.len, 0);
  /* names that would leave the directory */
  const char *bad[] = {"../index", "parts/../../x", "/etc/passwd", "..",
                       "",         "a\\b",          "parts/..",    "a\nb"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (sio__views_render(v, bad[i], data, &out) != -EINVAL) fail_msg("accepted %s", bad[i]);
  /* a partial name that escapes is an error too */
  assert_int_equal(sio__views_add(v, "esc", "{{>../index}}", 13, NULL, 0), 0);
  assert_int_equal(sio__views_render(v, "esc", data, &out), -EINVAL);
  assert_int_equal(out.len, 0);
  sio__sbuf_free(&out);
  json_decref(data);
  sio__views_free(v);
}

/* Allocation failure at every step of compile and render: an error, never a crash or leak. */
static void test_alloc_failure(void **state) {
  const char *src = "{{#items}}<li>{{>p}} {{name}}</li>\n{{/items}}{{^items}}none{{/items}}";
  json_t *data = parse("{\"items\":[{\"name\":\"a\"},{\"name\":\"b<\"}]}");
  int succeeded = 0;
  for (long n = 0; n < 200 && !succeeded; n++) {
    long live = sio__alloc_live();
    sio__views *v = NULL;
    sio__template *t = NULL;
    sio__sbuf out = SIO__SBUF_INIT;
    sio__alloc_fail_after(n);
    int rc = -ENOMEM;
    if ((v = sio__views_new(NULL)) && sio__views_add(v, "p", "  {{>p2}}\n", 10, NULL, 0) == 0 &&
        sio__views_add(v, "p2", "[{{name}}]", 10, NULL, 0) == 0 &&
        sio__template_compile(src, strlen(src), &t, NULL, 0) == 0)
      rc = sio__template_render(t, data, v, &out);
    sio__alloc_fail_reset();
    if (rc == 0) {
      assert_string_equal(out.data, "<li>  [a] a</li>\n<li>  [b&lt;] b&lt;</li>\n");
      succeeded = 1;
    } else {
      assert_int_equal(rc, -ENOMEM);
    }
    sio__sbuf_free(&out);
    sio__template_free(t);
    sio__views_free(v);
    assert_int_equal(sio__alloc_live(), live);
  }
  assert_true(succeeded);
  json_decref(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_cases),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_partial_recursion_limit),
      cmocka_unit_test(test_limits),
      cmocka_unit_test_setup_teardown(test_views_dir, setup_dir, teardown_dir),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
