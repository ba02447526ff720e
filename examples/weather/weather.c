/* The storm-alert demo: the tutorial's weather service, in C with sio.
 *
 * Pages (public/) follow cities, which are Socket.IO rooms; alerts are pushed to a city's room
 * the moment they arrive, from POST /api/alerts (which the examples/weather/alert script uses)
 * and from a simulated feed (on unless --no-sim). Visitors can post local reports to the
 * other followers of a city, and every page sees live how many people follow its cities. The
 * events and the HTTP API are in PROTOCOL.md; tests/browser/reference/weather-server.mjs is
 * the same server written with Node's express + socket.io.
 *
 * It logs one line per connection, disconnection and alert, and a periodic summary, to stderr
 * (none with --quiet). SIGINT/SIGTERM shut it down gracefully.
 *
 * --workers N runs N processes on the port (0: one per core; sio/workers.h), each this whole
 * server on its own loop. A page's polling requests may land on any of them: they are passed
 * to the one holding its session. The workers' adapter (sio_workers_adapter_new) joins them:
 * an alert posted to any worker reaches a city's followers on every worker, and the simulated
 * feed runs in worker 0 only. The follower counts a page shows are its worker's. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "sio/http.h"
#include "sio/io.h"
#include "sio/redis.h"
#include "sio/tls.h"
#include "sio/workers.h"

#ifndef SIO_EXAMPLE_DIR
#define SIO_EXAMPLE_DIR "."
#endif

enum { MAX_MESSAGE_CHARS = 280, MAX_FOLLOW = 16, MAX_BODY = 16384 };

typedef struct city_info {
  const char *id, *name;
} city_info;

static const city_info CITIES[] = {
    {"london", "London"}, {"paris", "Paris"}, {"berlin", "Berlin"},     {"madrid", "Madrid"},
    {"rome", "Rome"},     {"oslo", "Oslo"},   {"new-york", "New York"}, {"tokyo", "Tokyo"},
};
enum { NCITIES = sizeof CITIES / sizeof CITIES[0] };

static const char *const SEVERITIES[] = {"minor", "moderate", "severe", "extreme"};
enum { NSEVERITIES = 4 };

static const char *const SIM_MESSAGES[NSEVERITIES][3] = {
    {"Light rain spreading from the west", "Patchy fog this evening", "Breezy, gusts to 40 km/h"},
    {"Heavy showers with hail possible", "Thunderstorms likely after 16:00",
     "Icy patches on untreated roads"},
    {"Gale force winds, gusts to 100 km/h", "Flooding expected near rivers",
     "Heavy snow, travel disruption likely"},
    {"Hurricane force winds: stay indoors", "Flash floods: move to higher ground", NULL},
};

typedef struct options {
  const char *host; /* NULL: all interfaces */
  int port;
  int sim;
  unsigned sim_interval_ms;
  unsigned summary_interval_ms;
  int quiet;
  const char *tls_cert, *tls_key; /* both: serve HTTPS and wss */
  int http_port; /* with TLS: a plain listener that redirects to https (-1: none) */
  int workers;   /* -1: this process serves; else worker processes (0: one per core) */
} options;

/* Everything the server owns; one per loop, no globals. */
typedef struct weather {
  options opt;
  sio_worker *worker; /* with --workers: this process's place among them */
  uv_loop_t *loop;
  sio_app *app;
  sio_io *io;
  sio_redis_adapter *workers_adapter; /* with --workers: joins the workers' rooms */
  uv_timer_t sim_timer, summary_timer;
  uv_signal_t sigint, sigterm, sighup; /* SIGHUP: reload the TLS certificate and key */
  int watchers[NCITIES];               /* sockets following each city (the size of its room) */
  int closing;                         /* shutting down: no more watcher announcements */
  int64_t next_id;
  uint64_t messages, last_messages; /* events in and out (each delivery), for the summary */
  uint64_t last_summary_ms;
  char public_dir[4096];
} weather;

/* Per socket: the cities it follows, one bit each. */
typedef struct visitor {
  uint32_t following;
} visitor;

/* --- small helpers ----------------------------------------------------------------------- */

static void iso_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void logf_(const weather *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const weather *w, const char *fmt, ...) {
  if (w->opt.quiet) return;
  char when[32], line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  iso_now(when);
  fprintf(stderr, "%s %s\n", when, line);
}

/* The city index for a name a client sent (case-insensitive, ' ' for '-'), or -1. */
static int city_index(const char *name) {
  if (!name) return -1;
  while (isspace((unsigned char)*name)) name++;
  size_t len = strlen(name);
  while (len > 0 && isspace((unsigned char)name[len - 1])) len--;
  for (int i = 0; i < NCITIES; i++) {
    const char *id = CITIES[i].id;
    if (strlen(id) != len) continue;
    size_t k = 0;
    for (; k < len; k++) {
      char c = (char)tolower((unsigned char)name[k]);
      if (c == ' ') c = '-';
      if (c != id[k]) break;
    }
    if (k == len) return i;
  }
  return -1;
}

static int severity_index(const char *s) {
  for (int i = 0; s && i < NSEVERITIES; i++)
    if (strcasecmp(s, SEVERITIES[i]) == 0) return i;
  return -1;
}

/* Checks a message and trims it in place into out (NUL-terminated); NULL or the reason. */
static const char *clean_message(const char *in, size_t len, char *out, size_t out_size) {
  while (len > 0 && isspace((unsigned char)*in)) in++, len--;
  while (len > 0 && isspace((unsigned char)in[len - 1])) len--;
  if (len == 0) return "message is empty";
  if (memchr(in, '\0', len)) return "message contains a NUL character";
  size_t chars = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)in[i] & 0xC0) != 0x80) chars++;
  if (chars > MAX_MESSAGE_CHARS || len >= out_size) return "message is longer than 280 characters";
  memcpy(out, in, len);
  out[len] = '\0';
  return NULL;
}

static json_t *cities_json(void) {
  json_t *a = json_array();
  for (int i = 0; i < NCITIES; i++)
    json_array_append_new(a, json_pack("{s:s,s:s}", "id", CITIES[i].id, "name", CITIES[i].name));
  return a;
}

/* --- pushing to rooms ---------------------------------------------------------------------- */

static void announce_watchers(weather *w, int c) {
  int n = w->watchers[c];
  if (n <= 0 || w->closing) return;
  sio_emitf(sio_to(w->io, CITIES[c].id), "watchers", "{s:i}", CITIES[c].id, n);
  w->messages += (uint64_t)n;
}

/* Pushes an alert to the city's room; returns its id, *delivered the room's size. */
static int64_t push_alert(weather *w, int c, int sev, const char *message, const char *source,
                          int *delivered) {
  char when[32];
  iso_now(when);
  int64_t id = w->next_id++;
  int n = w->watchers[c];
  int rc = sio_emitf(sio_to(w->io, CITIES[c].id), "alert", "{s:I,s:s,s:s,s:s,s:s,s:s}", "id",
                     (json_int_t)id, "city", CITIES[c].id, "severity", SEVERITIES[sev], "message",
                     message, "time", when, "source", source);
  if (rc < 0) {
    logf_(w, "alert id=%lld city=%s could not be sent: %s", (long long)id, CITIES[c].id,
          sio_strerror(rc));
    n = 0;
  } else {
    w->messages += (uint64_t)n;
  }
  json_t *m = json_string(message);
  char *shown = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
  logf_(w, "alert id=%lld city=%s severity=%s source=%s delivered=%d message=%s", (long long)id,
        CITIES[c].id, SEVERITIES[sev], source, n, shown ? shown : "?");
  free(shown);
  json_decref(m);
  if (delivered) *delivered = n;
  return id;
}

/* --- HTTP API ---------------------------------------------------------------------------- */

static void reply_error(sio_res *res, int status, const char *reason) {
  sio_res_status(res, status);
  sio_res_jsonf(res, "{s:s}", "error", reason);
}

/* A POSTed alert, checked. */
typedef struct alert_input {
  int city, severity;
  char message[MAX_MESSAGE_CHARS * 4 + 1];
  char reason[160];
} alert_input;

/* NULL when doc is a valid alert (filled into in), else the reason it is not. */
static const char *check_alert(const json_t *doc, alert_input *in) {
  const json_t *city = json_object_get(doc, "city");
  const json_t *sev = json_object_get(doc, "severity");
  const json_t *msg = json_object_get(doc, "message");
  if (!city) return "city is missing";
  if (!json_is_string(city)) return "city must be a string";
  if ((in->city = city_index(json_string_value(city))) < 0) {
    snprintf(in->reason, sizeof in->reason, "unknown city: %.100s", json_string_value(city));
    return in->reason;
  }
  if (!sev) return "severity is missing";
  if (!json_is_string(sev)) return "severity must be a string";
  if ((in->severity = severity_index(json_string_value(sev))) < 0)
    return "severity must be one of minor, moderate, severe, extreme";
  if (!msg) return "message is missing";
  if (!json_is_string(msg)) return "message must be a string";
  return clean_message(json_string_value(msg), json_string_length(msg), in->message,
                       sizeof in->message);
}

static void on_alert_body(sio_req *req, sio_res *res, int status, void *user) {
  weather *w = user;
  if (status == 413) return reply_error(res, 413, "body is larger than 16 KiB");
  if (status != 0) return reply_error(res, status, "could not read the body");
  size_t len = 0;
  const char *body = sio_req_body(req, &len);
  json_error_t jerr;
  json_t *doc = json_loadb(body ? body : "", len, 0, &jerr);
  if (!doc || !json_is_object(doc)) {
    json_decref(doc);
    return reply_error(res, 400,
                       doc || len == 0 ? "body must be a JSON object {city, severity, message}"
                                       : "body is not valid JSON");
  }
  alert_input in;
  const char *bad = check_alert(doc, &in);
  json_decref(doc);
  if (bad) return reply_error(res, 400, bad);
  int delivered = 0;
  int64_t id = push_alert(w, in.city, in.severity, in.message, "api", &delivered);
  sio_res_status(res, 202);
  sio_res_jsonf(res, "{s:I,s:i}", "id", (json_int_t)id, "delivered", delivered);
}

static void on_post_alert(sio_req *req, sio_res *res, void *user) {
  int rc = sio_req_read_body(req, res, MAX_BODY, on_alert_body, user);
  if (rc < 0) reply_error(res, 500, sio_strerror(rc));
}

static void on_get_cities(sio_req *req, sio_res *res, void *user) {
  weather *w = user;
  json_t *counts = json_object();
  for (int i = 0; i < NCITIES; i++)
    json_object_set_new(counts, CITIES[i].id, json_integer(w->watchers[i]));
  sio_res_jsonf(res, "{s:o,s:o}", "cities", cities_json(), "watchers", counts);
}

/* --- Socket.IO events ---------------------------------------------------------------------- */

static void ack_error(sio_ack *ack, const char *reason) {
  if (ack) sio_ack_sendf(ack, "{s:b,s:s}", "ok", 0, "error", reason);
}

/* The cities named in list (an array of strings) as a bit set; ids appended to cities, names
 * that match none to unknown. */
static uint32_t cities_wanted(const json_t *list, json_t *cities, json_t *unknown) {
  uint32_t want = 0;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    int c = city_index(json_string_value(item));
    if (c < 0) {
      json_array_append(unknown, item);
    } else if (!(want & (1u << c))) {
      want |= 1u << c;
      json_array_append_new(cities, json_string(CITIES[c].id));
    }
  }
  return want;
}

static int is_city_list(const json_t *list) {
  if (!json_is_array(list) || json_array_size(list) > MAX_FOLLOW) return 0;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) if (!json_is_string(item)) return 0;
  return 1;
}

/* Joins and leaves rooms so that s follows exactly want; returns the cities that changed. */
static uint32_t follow_exactly(weather *w, sio_socket *s, visitor *v, uint32_t want) {
  uint32_t changed = want ^ v->following;
  for (int c = 0; c < NCITIES; c++) {
    if (!(changed & (1u << c))) continue;
    if (want & (1u << c)) {
      sio_join(s, CITIES[c].id);
      w->watchers[c]++;
    } else {
      sio_leave(s, CITIES[c].id);
      w->watchers[c]--;
    }
  }
  v->following = want;
  return changed;
}

/* "follow": the complete list of cities to follow (PROTOCOL.md). */
static void on_follow(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  weather *w = user;
  visitor *v = sio_socket_data(s);
  w->messages++;
  json_t *list = sio_args_value(a, 0);
  if (!v || !is_city_list(list)) {
    json_decref(list);
    return ack_error(ack, "follow expects an array of at most 16 city names");
  }
  json_t *cities = json_array(), *unknown = json_array(), *counts = json_object();
  uint32_t want = cities_wanted(list, cities, unknown);
  json_decref(list);
  uint32_t changed = follow_exactly(w, s, v, want);
  for (int c = 0; c < NCITIES; c++)
    if (want & (1u << c)) json_object_set_new(counts, CITIES[c].id, json_integer(w->watchers[c]));
  if (ack) {
    /* "o" hands the three values over to the ack. */
    sio_ack_sendf(ack, "{s:b,s:o,s:o,s:o}", "ok", 1, "cities", cities, "unknown", unknown,
                  "watchers", counts);
    w->messages++;
  } else {
    json_decref(cities);
    json_decref(unknown);
    json_decref(counts);
  }
  for (int c = 0; c < NCITIES; c++)
    if (changed & (1u << c)) announce_watchers(w, c);
}

/* "report": a visitor's local report, to the other followers of that city. */
typedef struct report_input {
  int city;
  char message[MAX_MESSAGE_CHARS * 4 + 1];
  char reason[64];
} report_input;

/* NULL when r is a valid report from v (filled into in), else the reason it is not. */
static const char *check_report(const json_t *r, const visitor *v, report_input *in) {
  const json_t *city = json_object_get(r, "city"), *msg = json_object_get(r, "message");
  in->city = json_is_string(city) ? city_index(json_string_value(city)) : -1;
  if (in->city < 0) return "unknown city";
  if (!(v->following & (1u << in->city))) {
    snprintf(in->reason, sizeof in->reason, "follow %s to report there", CITIES[in->city].id);
    return in->reason;
  }
  if (!json_is_string(msg)) return "message must be a string";
  return clean_message(json_string_value(msg), json_string_length(msg), in->message,
                       sizeof in->message);
}

static void on_report(sio_socket *s, const sio_args *a, sio_ack *ack, void *user) {
  weather *w = user;
  visitor *v = sio_socket_data(s);
  w->messages++;
  json_t *r = sio_args_value(a, 0);
  if (!json_is_object(r) || !v) {
    json_decref(r);
    return ack_error(ack, "report expects {city, message}");
  }
  report_input in;
  const char *bad = check_report(r, v, &in);
  json_decref(r);
  if (bad) return ack_error(ack, bad);

  char when[32], from[5];
  iso_now(when);
  snprintf(from, sizeof from, "%s", sio_id(s));
  int64_t id = w->next_id++;
  const char *city = CITIES[in.city].id;
  int delivered = w->watchers[in.city] - 1;
  sio_emitf(sio_to(s, city), "report", "{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "city", city,
            "message", in.message, "time", when, "from", from);
  w->messages += (uint64_t)delivered;
  logf_(w, "report id=%lld city=%s from=%s delivered=%d", (long long)id, city, sio_id(s),
        delivered);
  if (ack) {
    sio_ack_sendf(ack, "{s:b,s:I,s:i}", "ok", 1, "id", (json_int_t)id, "delivered", delivered);
    w->messages++;
  }
}

static void on_disconnect(sio_socket *s, const char *reason, void *user) {
  weather *w = user;
  visitor *v = sio_socket_data(s);
  sio_socket_set_data(s, NULL);
  logf_(w, "disconnect id=%s reason=\"%s\" clients=%zu", sio_id(s), reason,
        sio_io_clients_count(w->io));
  if (!v) return;
  for (int c = 0; c < NCITIES; c++) {
    if (!(v->following & (1u << c))) continue;
    w->watchers[c]--;
    announce_watchers(w, c);
  }
  free(v);
}

static void on_connection(sio_socket *s, void *user) {
  weather *w = user;
  visitor *v = calloc(1, sizeof *v);
  if (!v) {
    sio_disconnect(s, 1);
    return;
  }
  sio_socket_set_data(s, v);
  sio_on(s, "follow", on_follow, w);
  sio_on(s, "report", on_report, w);
  sio_on_disconnect(s, on_disconnect, w);
  logf_(w, "connect id=%s ip=%s transport=%s clients=%zu", sio_id(s), sio_handshake_address(s),
        sio_transport(s), sio_io_clients_count(w->io));
  sio_emitf(s, "hello", "{s:o,s:[ssss],s:b}", "cities", cities_json(), "severities", SEVERITIES[0],
            SEVERITIES[1], SEVERITIES[2], SEVERITIES[3], "sim", w->opt.sim);
  w->messages++;
}

/* --- timers: simulated feed and summary ------------------------------------------------------ */

static void on_sim(uv_timer_t *t);

static void schedule_sim(weather *w) {
  /* Uniform in [0.5, 1.5) times the mean interval. */
  uint64_t mean = w->opt.sim_interval_ms;
  uv_timer_start(&w->sim_timer, on_sim, mean / 2 + (uint64_t)rand() % (mean + 1), 0);
}

static void on_sim(uv_timer_t *t) {
  weather *w = t->data;
  int c = rand() % NCITIES;
  int r = rand() % 100;
  int sev = r < 40 ? 0 : r < 75 ? 1 : r < 95 ? 2 : 3;
  int nmsg = SIM_MESSAGES[sev][2] ? 3 : 2;
  push_alert(w, c, sev, SIM_MESSAGES[sev][rand() % nmsg], "sim", NULL);
  schedule_sim(w);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_summary(uv_timer_t *t) {
  weather *w = t->data;
  uint64_t now = now_ms();
  uint64_t ms = now > w->last_summary_ms ? now - w->last_summary_ms : 1;
  double rate = (double)(w->messages - w->last_messages) * 1000.0 / (double)ms;
  w->last_messages = w->messages;
  w->last_summary_ms = now;
  int rooms = 0;
  for (int c = 0; c < NCITIES; c++) rooms += w->watchers[c] > 0;
  logf_(w, "summary clients=%zu rooms=%d msgs/s=%.1f", sio_io_clients_count(w->io), rooms, rate);
}

/* --- start and stop -------------------------------------------------------------------------- */

/* Every connection is closed: uv_run returns once the last handles are gone. */
static void on_app_closed(sio_app *app, void *user) {
  logf_(user, "stopped");
}

static void on_signal(uv_signal_t *sig, int signum) {
  weather *w = sig->data;
  logf_(w, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  w->closing = 1;
  uv_timer_stop(&w->sim_timer);
  uv_close((uv_handle_t *)&w->sim_timer, NULL);
  uv_close((uv_handle_t *)&w->summary_timer, NULL);
  uv_close((uv_handle_t *)&w->sigint, NULL);
  uv_close((uv_handle_t *)&w->sigterm, NULL);
  uv_close((uv_handle_t *)&w->sighup, NULL);
  sio_app_close(w->app, on_app_closed, w);
}

/* SIGHUP: the certificate and key are read again; open connections keep theirs. */
static void on_sighup(uv_signal_t *sig, int signum) {
  weather *w = sig->data;
  int rc = sio_app_tls_reload(w->app);
  if (rc < 0)
    logf_(w, "TLS reload failed (%s): the old certificate stays", sio_strerror(rc));
  else
    logf_(w, "TLS certificate and key reloaded");
}

static void usage(FILE *f, const char *argv0) {
  fprintf(f,
          "Usage: %s [options]\n"
          "Storm alerts over Socket.IO: open the printed URL, follow cities, and post alerts with\n"
          "examples/weather/alert or POST /api/alerts.\n"
          "\n"
          "  --port N               port to listen on (default 3000)\n"
          "  --host ADDR            address to bind (default: all interfaces, IPv6 and IPv4)\n"
          "  --no-sim               turn the simulated alert feed off\n"
          "  --sim-interval MS      mean time between simulated alerts (default 8000)\n"
          "  --summary-interval MS  time between summary log lines (default 10000)\n"
          "  --tls-cert FILE        serve HTTPS and wss with this PEM certificate chain\n"
          "  --tls-key FILE         and this PEM private key (SIGHUP reloads both)\n"
          "  --http-port N          with TLS: plain HTTP on N too, redirected to https\n"
          "  --workers N            N worker processes on the port (0: one per core)\n"
          "  --quiet                no log lines on stderr\n"
          "  --help                 this text\n",
          argv0);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < min || v > max) return -1;
  *out = (unsigned)v;
  return 0;
}

/* 0 to run, 1 to exit successfully (--help), 2 on a usage error. */
static int parse_options(int argc, char **argv, options *o) {
  enum {
    OPT_PORT = 1,
    OPT_HOST,
    OPT_NO_SIM,
    OPT_SIM_INTERVAL,
    OPT_SUMMARY,
    OPT_QUIET,
    OPT_HELP,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_HTTP_PORT,
    OPT_WORKERS
  };
  static const struct option longs[] = {
      {"port", required_argument, NULL, OPT_PORT},
      {"host", required_argument, NULL, OPT_HOST},
      {"no-sim", no_argument, NULL, OPT_NO_SIM},
      {"sim-interval", required_argument, NULL, OPT_SIM_INTERVAL},
      {"summary-interval", required_argument, NULL, OPT_SUMMARY},
      {"quiet", no_argument, NULL, OPT_QUIET},
      {"help", no_argument, NULL, OPT_HELP},
      {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
      {"tls-key", required_argument, NULL, OPT_TLS_KEY},
      {"http-port", required_argument, NULL, OPT_HTTP_PORT},
      {"workers", required_argument, NULL, OPT_WORKERS},
      {NULL, 0, NULL, 0},
  };
  *o = (options){.port = 3000,
                 .sim = 1,
                 .sim_interval_ms = 8000,
                 .summary_interval_ms = 10000,
                 .http_port = -1,
                 .workers = -1};
  int opt;
  unsigned v;
  while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (opt) {
    case OPT_PORT:
      if (parse_uint(optarg, 0, 65535, &v) < 0) goto bad_value;
      o->port = (int)v;
      break;
    case OPT_HOST:
      o->host = optarg;
      break;
    case OPT_NO_SIM:
      o->sim = 0;
      break;
    case OPT_SIM_INTERVAL:
      if (parse_uint(optarg, 1, 86400000, &o->sim_interval_ms) < 0) goto bad_value;
      break;
    case OPT_SUMMARY:
      if (parse_uint(optarg, 1, 86400000, &o->summary_interval_ms) < 0) goto bad_value;
      break;
    case OPT_QUIET:
      o->quiet = 1;
      break;
    case OPT_TLS_CERT:
      o->tls_cert = optarg;
      break;
    case OPT_TLS_KEY:
      o->tls_key = optarg;
      break;
    case OPT_HTTP_PORT:
      if (parse_uint(optarg, 0, 65535, &v) < 0) goto bad_value;
      o->http_port = (int)v;
      break;
    case OPT_WORKERS:
      if (parse_uint(optarg, 0, 4096, &v) < 0) goto bad_value;
      o->workers = (int)v;
      break;
    case OPT_HELP:
    case 'h':
      usage(stdout, argv[0]);
      return 1;
    default:
      usage(stderr, argv[0]);
      return 2;
    }
    continue;
  bad_value:
    fprintf(stderr, "%s: bad value for --%s: %s\n", argv[0], longs[opt - 1].name, optarg);
    return 2;
  }
  if (!o->tls_cert != !o->tls_key) {
    fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", argv[0]);
    return 2;
  }
  if (o->workers >= 0 && o->port == 0) {
    fprintf(stderr, "%s: --workers needs a fixed --port (each worker binds it)\n", argv[0]);
    return 2;
  }
  if (optind < argc) {
    fprintf(stderr, "%s: unexpected argument: %s\n", argv[0], argv[optind]);
    usage(stderr, argv[0]);
    return 2;
  }
  return 0;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Finds public/ whatever the working directory: $SIO_EXAMPLE_DIR/public, then beside this
 * source file (SIO_EXAMPLE_DIR at build time), then beside the binary or in the installed
 * share folder. */
static int find_public(weather *w) {
  char *out = w->public_dir;
  size_t n = sizeof w->public_dir;
  const char *env = getenv("SIO_EXAMPLE_DIR");
  if (env && *env) {
    snprintf(out, n, "%s/public", env);
    if (is_dir(out)) return 0;
  }
  snprintf(out, n, "%s/public", SIO_EXAMPLE_DIR);
  if (is_dir(out)) return 0;
  char exe[3072];
  size_t len = sizeof exe;
  if (uv_exepath(exe, &len) == 0) {
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(out, n, "%s/public", exe);
    if (is_dir(out)) return 0;
    snprintf(out, n, "%s/../share/sio/weather/public", exe);
    if (is_dir(out)) return 0;
  }
  fprintf(stderr, "weather: cannot find the public/ folder (set SIO_EXAMPLE_DIR)\n");
  return -1;
}

static int start(weather *w) {
  sio_app_opts ao = sio_app_opts_default();
  ao.host = w->opt.host;
  ao.port = w->opt.port;
  ao.port_any = w->opt.port == 0;
  ao.worker = w->worker;
  sio_tls_opts tls = sio_tls_opts_default();
  if (w->opt.tls_cert) {
    tls.cert_file = w->opt.tls_cert;
    tls.key_file = w->opt.tls_key;
    if (w->opt.http_port >= 0) {
      tls.plain_port = w->opt.http_port ? w->opt.http_port : SIO_TLS_PLAIN_ANY;
      tls.redirect_plain = 1;
    }
    ao.tls = &tls; /* copied by sio_app_new */
  }
  w->app = sio_app_new(w->loop, &ao);
  if (!w->app) return -ENOMEM;
  int rc;
  if ((rc = sio_app_post(w->app, "/api/alerts", on_post_alert, w)) < 0 ||
      (rc = sio_app_get(w->app, "/api/cities", on_get_cities, w)) < 0 ||
      (rc = sio_app_static(w->app, "/", w->public_dir, NULL)) < 0)
    return rc;
  sio_io_opts io_opts = sio_io_opts_default();
  if (w->worker) {
    if ((rc = sio_workers_adapter_new(w->loop, w->worker, NULL, &w->workers_adapter)) < 0)
      return rc;
    io_opts.adapter = sio_redis_adapter_factory;
    io_opts.adapter_arg = w->workers_adapter;
  }
  w->io = sio_io_attach(w->app, &io_opts);
  if (!w->io) return -ENOMEM;
  if ((rc = sio_on_connection(w->io, on_connection, w)) < 0) return rc;
  if ((rc = sio_app_listen(w->app)) < 0) return rc;

  uv_timer_init(w->loop, &w->sim_timer);
  uv_timer_init(w->loop, &w->summary_timer);
  w->sim_timer.data = w->summary_timer.data = w;
  if (w->opt.sim && sio_worker_index(w->worker) == 0) schedule_sim(w); /* one feed for all */
  w->last_summary_ms = now_ms();
  uv_timer_start(&w->summary_timer, on_summary, w->opt.summary_interval_ms,
                 w->opt.summary_interval_ms);
  uv_signal_init(w->loop, &w->sigint);
  uv_signal_init(w->loop, &w->sigterm);
  w->sigint.data = w->sigterm.data = w;
  uv_signal_start(&w->sigint, on_signal, SIGINT);
  uv_signal_start(&w->sigterm, on_signal, SIGTERM);
  uv_signal_init(w->loop, &w->sighup);
  w->sighup.data = w;
  if (w->opt.tls_cert) uv_signal_start(&w->sighup, on_sighup, SIGHUP);

  const char *h = w->opt.host;
  int all = !h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
  int v6 = !all && strchr(h, ':');
  printf("Storm alerts on %s://%s%s%s:%d/\n", w->opt.tls_cert ? "https" : "http", v6 ? "[" : "",
         all ? "localhost" : h, v6 ? "]" : "", sio_app_port(w->app));
  fflush(stdout);
  char who[48] = "";
  if (w->worker)
    snprintf(who, sizeof who, " (worker %d of %d)", sio_worker_index(w->worker),
             sio_worker_count(w->worker));
  logf_(w, "listening on %s port %d%s, page from %s, simulated feed %s", all ? "all interfaces" : h,
        sio_app_port(w->app), who, w->public_dir, w->opt.sim ? "on" : "off");
  return 0;
}

/* The server's life in this process: alone, or as one of the workers (wk). */
static int serve(sio_worker *wk, void *user) {
  weather *w = user;
  w->worker = wk;
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  w->next_id = 1;
  w->loop = uv_default_loop();
  int rc;
  if ((rc = start(w)) < 0) {
    fprintf(stderr, "weather: cannot start on %s port %d: %s\n", w->opt.host ? w->opt.host : "*",
            w->opt.port, sio_strerror(rc));
    if (w->app) sio_app_free(w->app); /* and the Socket.IO server attached to it */
    sio_redis_adapter_free(w->workers_adapter);
    uv_run(w->loop, UV_RUN_DEFAULT);
    free(w);
    return 1;
  }
  uv_run(w->loop, UV_RUN_DEFAULT); /* returns once the graceful shutdown has finished */
  sio_app_free(w->app);            /* frees the Socket.IO server attached to it too */
  sio_redis_adapter_free(w->workers_adapter);
  uv_run(w->loop, UV_RUN_DEFAULT); /* lets the app's handles close */
  uv_loop_close(w->loop);
  free(w);
  return 0;
}

int main(int argc, char **argv) {
  weather *w = calloc(1, sizeof *w);
  if (!w) return 1;
  int rc = parse_options(argc, argv, &w->opt);
  if (rc) {
    free(w);
    return rc == 1 ? 0 : 2;
  }
  if (w->opt.quiet) sio_log_set_level(SIO_LOG_OFF);
  if (find_public(w) < 0) {
    free(w);
    return 1;
  }
  if (w->opt.workers < 0) return serve(NULL, w);
  sio_workers_opts wo = sio_workers_opts_default();
  wo.count = w->opt.workers;
  rc = sio_workers_run(&wo, serve, w);
  if (rc < 0) fprintf(stderr, "weather: workers: %s\n", sio_strerror(rc));
  free(w);
  return rc == 0 ? 0 : 1;
}
