/* Extension -> MIME type table, kept sorted by extension so lookup is a binary search over a
 * lower-cased copy of the extension (no allocation, no globals that change).
 *
 * Text types name their charset so browsers do not guess; the choice of types follows what
 * Express (the `mime` package) sends for the same files, so a page served by sio behaves the
 * same as under Node. */
#include "http/mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TYPE "application/octet-stream"
#define UTF8         "; charset=utf-8"

typedef struct mime_entry {
  const char *ext; /* lower case, no dot */
  const char *type;
} mime_entry;

/* Sorted by ext (strcmp order); the test suite checks the order. */
static const mime_entry table[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"br", "application/x-brotli"},
    {"bz2", "application/x-bzip2"},
    {"cjs", "text/javascript" UTF8},
    {"css", "text/css" UTF8},
    {"csv", "text/csv" UTF8},
    {"doc", "application/msword"},
    {"eot", "application/vnd.ms-fontobject"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"heic", "image/heic"},
    {"htm", "text/html" UTF8},
    {"html", "text/html" UTF8},
    {"ico", "image/x-icon"},
    {"ics", "text/calendar" UTF8},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript" UTF8},
    {"json", "application/json" UTF8},
    {"jsonld", "application/ld+json" UTF8},
    {"m4a", "audio/mp4"},
    {"manifest", "text/cache-manifest" UTF8},
    {"map", "application/json" UTF8},
    {"md", "text/markdown" UTF8},
    {"mid", "audio/midi"},
    {"midi", "audio/midi"},
    {"mjs", "text/javascript" UTF8},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mustache", "text/html" UTF8},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"sh", "application/x-sh"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ts", "video/mp2t"},
    {"tsv", "text/tab-separated-values" UTF8},
    {"ttf", "font/ttf"},
    {"txt", "text/plain" UTF8},
    {"vtt", "text/vtt" UTF8},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json" UTF8},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml" UTF8},
    {"xls", "application/vnd.ms-excel"},
    {"xml", "application/xml" UTF8},
    {"yaml", "text/yaml" UTF8},
    {"yml", "text/yaml" UTF8},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

static int compare_entry(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const mime_entry *)elem)->ext);
}

/* The extension of path_or_ext: after the last '.' of the last path segment, or the whole
 * segment when it has no dot (a bare extension such as "css"). */
static const char *extension_of(const char *s) {
  const char *seg = s;
  for (const char *p = s; *p; p++)
    if (*p == '/' || *p == '\\') seg = p + 1;
  const char *dot = strrchr(seg, '.');
  return dot ? dot + 1 : seg;
}

const char *sio__mime_type(const char *path_or_ext) {
  if (!path_or_ext) return DEFAULT_TYPE;
  const char *ext = extension_of(path_or_ext);
  char lower[16];
  size_t n = strlen(ext);
  if (n == 0 || n >= sizeof(lower)) return DEFAULT_TYPE;
  for (size_t i = 0; i < n; i++) {
    char c = ext[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  lower[n] = '\0';
  const mime_entry *e =
      bsearch(lower, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), compare_entry);
  return e ? e->type : DEFAULT_TYPE;
}

/* Does the media type mime[0..len) (no parameters) end with suffix, ignoring case? */
static int type_ends_with(const char *mime, size_t len, const char *suffix) {
  size_t n = strlen(suffix);
  return len >= n && strncasecmp(mime + len - n, suffix, n) == 0;
}

static int type_is(const char *mime, size_t len, const char *type) {
  return strlen(type) == len && strncasecmp(mime, type, len) == 0;
}

int sio__mime_compressible(const char *mime) {
  if (!mime) return 0;
  while (*mime == ' ' || *mime == '\t') mime++;
  size_t len = strcspn(mime, "; \t");
  if (len >= 5 && strncasecmp(mime, "text/", 5) == 0) return 1;
  if (type_ends_with(mime, len, "+json") || type_ends_with(mime, len, "/json")) return 1;
  if (type_ends_with(mime, len, "+xml") || type_ends_with(mime, len, "/xml")) return 1;
  if (type_ends_with(mime, len, "/javascript") || type_ends_with(mime, len, "/ecmascript"))
    return 1;
  static const char *const others[] = {
      "application/wasm",
      "application/x-javascript",
      "font/ttf",
      "font/otf",
      "image/x-icon",
      "image/bmp",
      "application/x-sh",
      "application/rtf",
      "application/vnd.ms-fontobject",
      "image/vnd.microsoft.icon",
  };
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    if (type_is(mime, len, others[i])) return 1;
  return 0;
}
