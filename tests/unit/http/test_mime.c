/* Unit tests for src/http/mime: extension lookup (paths, bare extensions, case), the default
 * type, charset on text types, and which types are worth gzipping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/mime.h"

static void test_common_types(void **state) {
  assert_string_equal(sio__mime_type("index.html"), "text/html; charset=utf-8");
  assert_string_equal(sio__mime_type("a.htm"), "text/html; charset=utf-8");
  assert_string_equal(sio__mime_type("style.css"), "text/css; charset=utf-8");
  assert_string_equal(sio__mime_type("app.js"), "text/javascript; charset=utf-8");
  assert_string_equal(sio__mime_type("mod.mjs"), "text/javascript; charset=utf-8");
  assert_string_equal(sio__mime_type("data.json"), "application/json; charset=utf-8");
  assert_string_equal(sio__mime_type("app.js.map"), "application/json; charset=utf-8");
  assert_string_equal(sio__mime_type("notes.txt"), "text/plain; charset=utf-8");
  assert_string_equal(sio__mime_type("logo.svg"), "image/svg+xml");
  assert_string_equal(sio__mime_type("a.png"), "image/png");
  assert_string_equal(sio__mime_type("a.jpg"), "image/jpeg");
  assert_string_equal(sio__mime_type("a.jpeg"), "image/jpeg");
  assert_string_equal(sio__mime_type("a.gif"), "image/gif");
  assert_string_equal(sio__mime_type("a.webp"), "image/webp");
  assert_string_equal(sio__mime_type("a.avif"), "image/avif");
  assert_string_equal(sio__mime_type("favicon.ico"), "image/x-icon");
  assert_string_equal(sio__mime_type("f.woff"), "font/woff");
  assert_string_equal(sio__mime_type("f.woff2"), "font/woff2");
  assert_string_equal(sio__mime_type("f.ttf"), "font/ttf");
  assert_string_equal(sio__mime_type("f.otf"), "font/otf");
  assert_string_equal(sio__mime_type("m.wasm"), "application/wasm");
  assert_string_equal(sio__mime_type("feed.xml"), "application/xml; charset=utf-8");
  assert_string_equal(sio__mime_type("doc.pdf"), "application/pdf");
  assert_string_equal(sio__mime_type("v.mp4"), "video/mp4");
  assert_string_equal(sio__mime_type("v.webm"), "video/webm");
  assert_string_equal(sio__mime_type("s.mp3"), "audio/mpeg");
  assert_string_equal(sio__mime_type("s.ogg"), "audio/ogg");
  assert_string_equal(sio__mime_type("s.wav"), "audio/wav");
  assert_string_equal(sio__mime_type("t.csv"), "text/csv; charset=utf-8");
  assert_string_equal(sio__mime_type("README.md"), "text/markdown; charset=utf-8");
  assert_string_equal(sio__mime_type("a.zip"), "application/zip");
  assert_string_equal(sio__mime_type("a.tar.gz"), "application/gzip");
}

static void test_paths_case_and_bare_extensions(void **state) {
  assert_string_equal(sio__mime_type("/var/www/Public/INDEX.HTML"), "text/html; charset=utf-8");
  assert_string_equal(sio__mime_type("Photo.JpG"), "image/jpeg");
  assert_string_equal(sio__mime_type("css"), "text/css; charset=utf-8");
  assert_string_equal(sio__mime_type(".css"), "text/css; charset=utf-8");
  assert_string_equal(sio__mime_type("PNG"), "image/png");
  /* the dot of a directory does not count */
  assert_string_equal(sio__mime_type("/srv/site.v2/README"), "application/octet-stream");
  assert_string_equal(sio__mime_type("C:\\x\\a.json"), "application/json; charset=utf-8");
}

static void test_default_type(void **state) {
  const char *def = "application/octet-stream";
  assert_string_equal(sio__mime_type("file.unknownext"), def);
  assert_string_equal(sio__mime_type("Makefile"), def);
  assert_string_equal(sio__mime_type("trailing."), def);
  assert_string_equal(sio__mime_type(""), def);
  assert_string_equal(sio__mime_type("/dir/"), def);
  assert_string_equal(sio__mime_type("a.averyveryverylongextension"), def);
  assert_string_equal(sio__mime_type(NULL), def);
}

static void test_compressible(void **state) {
  assert_true(sio__mime_compressible("text/html; charset=utf-8"));
  assert_true(sio__mime_compressible("TEXT/CSS"));
  assert_true(sio__mime_compressible("text/javascript; charset=utf-8"));
  assert_true(sio__mime_compressible("application/javascript"));
  assert_true(sio__mime_compressible("application/json"));
  assert_true(sio__mime_compressible("application/ld+json; charset=utf-8"));
  assert_true(sio__mime_compressible("application/xml"));
  assert_true(sio__mime_compressible("application/rss+xml"));
  assert_true(sio__mime_compressible("image/svg+xml"));
  assert_true(sio__mime_compressible("application/wasm"));
  assert_true(sio__mime_compressible("font/ttf"));
  assert_true(sio__mime_compressible(" text/plain"));
  assert_false(sio__mime_compressible("image/png"));
  assert_false(sio__mime_compressible("image/jpeg"));
  assert_false(sio__mime_compressible("font/woff2"));
  assert_false(sio__mime_compressible("video/mp4"));
  assert_false(sio__mime_compressible("application/zip"));
  assert_false(sio__mime_compressible("application/gzip"));
  assert_false(sio__mime_compressible("application/octet-stream"));
  assert_false(sio__mime_compressible("application/jsonx"));
  assert_false(sio__mime_compressible(""));
  assert_false(sio__mime_compressible(NULL));
}

/* Every type in the table is reachable: a lookup of each extension returns its own entry,
 * which fails if the table is out of order for the binary search. */
static void test_table_sorted(void **state) {
  static const char *exts[] = {
      "7z",   "aac",  "apng", "atom", "avif",        "bin",  "bmp",  "br",     "bz2",   "cjs",
      "css",  "csv",  "doc",  "eot",  "epub",        "flac", "gif",  "gz",     "heic",  "htm",
      "html", "ico",  "ics",  "jpeg", "jpg",         "js",   "json", "jsonld", "m4a",   "manifest",
      "map",  "md",   "mid",  "midi", "mjs",         "mov",  "mp3",  "mp4",    "mpeg",  "mustache",
      "oga",  "ogg",  "ogv",  "opus", "otf",         "pdf",  "png",  "rss",    "rtf",   "sh",
      "svg",  "tar",  "tgz",  "tif",  "tiff",        "ts",   "tsv",  "ttf",    "txt",   "vtt",
      "wasm", "wav",  "weba", "webm", "webmanifest", "webp", "woff", "woff2",  "xhtml", "xls",
      "xml",  "yaml", "yml",  "zip",  "zst",
  };
  for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
    if (i) assert_true(strcmp(exts[i - 1], exts[i]) < 0);
    if (strcmp(exts[i], "bin") == 0) continue; /* maps to the default on purpose */
    if (strcmp(sio__mime_type(exts[i]), "application/octet-stream") == 0) fail_msg("%s", exts[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_common_types), cmocka_unit_test(test_paths_case_and_bare_extensions),
      cmocka_unit_test(test_default_type), cmocka_unit_test(test_compressible),
      cmocka_unit_test(test_table_sorted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
