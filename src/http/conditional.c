/* Conditional requests (RFC 9110 13): whether the client's cached copy is still current, so that
 * the answer is 304 Not Modified, and the HTTP date format (IMF-fixdate) that Last-Modified,
 * If-Modified-Since and the Date header use.
 *
 * One copy for every resource served with a validator: static files (a weak ETag from size and
 * mtime, and Last-Modified) and the Socket.IO client bundle (a strong ETag, a content hash).
 * If-None-Match takes precedence over If-Modified-Since (13.2.2) and is compared weakly (W/
 * prefixes ignored on both sides, as 13.1.2 asks for GET and HEAD); "*" matches any. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/app_internal.h"

void sio__http_date(time_t t, char *out, size_t n) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
           months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if not one. */
static time_t parse_http_date(const char *s) {
  static const char *months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char wd[4], mon[4];
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if (sscanf(s, "%3s, %d %3s %d %d:%d:%d GMT", wd, &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec) != 7)
    return -1;
  const char *m = strstr(months, mon);
  if (!m || strlen(mon) != 3) return -1;
  tm.tm_mon = (int)(m - months) / 3;
  tm.tm_year -= 1900;
  return timegm(&tm);
}

/* 1 when the If-None-Match list names etag (weak comparison) or is "*". */
static int etag_matches(const char *inm, const char *etag) {
  const char *e = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
  size_t el = strlen(e);
  const char *p = inm;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == '*') return 1;
    const char *s = p;
    while (*p && *p != ',') p++;
    const char *t = p;
    while (t > s && t[-1] == ' ') t--;
    if (t - s >= 2 && strncmp(s, "W/", 2) == 0) s += 2;
    if ((size_t)(t - s) == el && strncmp(s, e, el) == 0) return 1;
  }
  return 0;
}

int sio_req_fresh(const sio_req *req, const char *etag, int64_t last_modified) {
  const char *inm = sio_req_header(req, "If-None-Match");
  if (inm) return etag && etag_matches(inm, etag);
  const char *ims = sio_req_header(req, "If-Modified-Since");
  if (!ims || last_modified < 0) return 0;
  time_t t = parse_http_date(ims);
  return t >= 0 && last_modified <= (int64_t)t;
}
