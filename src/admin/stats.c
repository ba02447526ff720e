/* server_stats, emitted to the UIs at once and every 2 s (a timer that does not keep the loop
 * alive, as Node's unref'd interval), with Node's fields in Node's order:
 *   {serverId, hostname, pid, uptime, clientsCount, pollingClientsCount, aggregatedEvents,
 *    namespaces: [{name, socketsCount}]}
 * aggregatedEvents is Node's EventBuffer: counts per second (timestamp: the second's start in
 * ms), type and subType, of rawConnection, rawDisconnection (subType: the reason), packetsIn /
 * bytesIn and packetsOut / bytesOut (Engine.IO messages and their data bytes), emptied at each
 * emit. The same tick counts the clients still on polling and tells the UIs of the sockets
 * whose client upgraded since (socket_updated {id, nsp, transport}). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "admin/admin_internal.h"
#include "core/alloc.h"

#define STATS_MS   2000
#define MAX_COUNTS 4096

static int64_t second_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000;
}

static int same_sub(const char *x, const char *y) {
  return x == y || (x && y && strcmp(x, y) == 0);
}

void sio__admin_count(sio__admin *a, const char *type, const char *sub, uint64_t n) {
  int64_t ts = second_now();
  for (size_t i = a->ncounts; i-- > 0;) { /* the current second's entries are the last ones */
    sio__admin_cnt *c = &a->counts[i];
    if (c->ts != ts) break;
    if (c->type == type && same_sub(c->sub, sub)) {
      c->count += n;
      return;
    }
  }
  if (a->ncounts == MAX_COUNTS) return;
  if (a->ncounts == a->capcounts) {
    size_t cap = a->capcounts ? a->capcounts * 2 : 16;
    sio__admin_cnt *v = sio__realloc(a->counts, cap * sizeof *v);
    if (!v) return;
    a->counts = v;
    a->capcounts = cap;
  }
  char *copy = sub ? sio__strdup(sub) : NULL;
  if (sub && !copy) return;
  a->counts[a->ncounts++] = (sio__admin_cnt){ts, type, copy, n};
}

void sio__admin_counts_free(sio__admin *a) {
  for (size_t i = 0; i < a->ncounts; i++) sio__free(a->counts[i].sub);
  sio__free(a->counts);
  a->counts = NULL;
  a->ncounts = a->capcounts = 0;
}

static json_t *take_counts(sio__admin *a) {
  json_t *v = json_array();
  for (size_t i = 0; v && i < a->ncounts; i++) {
    sio__admin_cnt *c = &a->counts[i];
    json_t *o = json_pack("{s:I,s:s}", "timestamp", (json_int_t)c->ts, "type", c->type);
    if (o && c->sub) json_object_set_new(o, "subType", json_string(c->sub));
    if (o) json_object_set_new(o, "count", json_integer((json_int_t)c->count));
    json_array_append_new(v, o);
  }
  sio__admin_counts_free(a);
  return v;
}

/* --- the process ------------------------------------------------------------------------- */

/* process.uptime(): seconds since this process started (/proc), measured once; 0 if unknown. */
static double process_uptime(void) {
  double up = 0;
  FILE *f = fopen("/proc/uptime", "r");
  if (!f) return 0;
  int ok = fscanf(f, "%lf", &up) == 1;
  fclose(f);
  f = fopen("/proc/self/stat", "r");
  if (!ok || !f) {
    if (f) fclose(f);
    return 0;
  }
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long long start = 0;
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (!p || sscanf(p + 1, "%llu", &start) != 1) return 0;
  double s = up - (double)start / (double)sysconf(_SC_CLK_TCK);
  return s > 0 ? s : 0;
}

/* --- the tick ---------------------------------------------------------------------------- */

/* Clients on polling now; socket_updated for the clients that upgraded since the last look. */
static size_t look_at_clients(sio__admin *a) {
  size_t polling = 0;
  sio__list *it;
  sio__list_foreach(it, &a->io->clients) {
    sio__client *c = sio__container_of(it, sio__client, link);
    const char *t = sio__client_transport(c);
    if (!t) continue;
    int ws = strcmp(t, "websocket") == 0;
    if (!ws) polling++;
    if (ws && !c->obs_ws) {
      c->obs_ws = 1;
      if (a->dev) sio__admin_socket_updated_transport(a, c);
    }
  }
  return polling;
}

static int by_name(const void *x, const void *y) {
  return strcmp(sio_nsp_name(*(sio_nsp *const *)x), sio_nsp_name(*(sio_nsp *const *)y));
}

/* [{name, socketsCount}] of the server's namespaces ("/" first, then by name). */
static json_t *namespaces(sio__admin *a) {
  size_t n = a->io->nsps.count, i = 0, k = 0;
  sio_nsp **v = sio__malloc((n ? n : 1) * sizeof *v);
  json_t *arr = json_array();
  sio__map_entry *e;
  while (v && k < n && (e = sio__map_next(&a->io->nsps, &i))) v[k++] = e->value;
  if (v) qsort(v, k, sizeof *v, by_name);
  for (size_t j = 0; v && arr && j < k; j++)
    json_array_append_new(arr, json_pack("{s:s,s:I}", "name", sio_nsp_name(v[j]), "socketsCount",
                                         (json_int_t)sio_nsp_sockets_count(v[j])));
  sio__free(v);
  return arr;
}

static void emit_stats(sio__admin *a) {
  size_t polling = look_at_clients(a);
  json_t *counts = take_counts(a); /* cleared even when nobody listens, as Node's */
  if (!sio__admin_listening(a)) {
    json_decref(counts);
    return;
  }
  double uptime = a->uptime0 + (double)(uv_hrtime() - a->hr0) / 1e9;
  json_t *st = json_pack("{s:s,s:s,s:I,s:f,s:I,s:I,s:o,s:o}", "serverId", a->server_id, "hostname",
                         a->hostname, "pid", (json_int_t)getpid(), "uptime", uptime, "clientsCount",
                         (json_int_t)a->io->nclients, "pollingClientsCount", (json_int_t)polling,
                         "aggregatedEvents", counts, "namespaces", namespaces(a));
  sio__admin_emit(a, "server_stats", st ? json_pack("[o]", st) : NULL);
}

static void on_tick(uv_timer_t *t) {
  emit_stats(t->data);
}

void sio__admin_stats_start(sio__admin *a) {
  a->uptime0 = process_uptime();
  a->hr0 = uv_hrtime();
  uv_timer_start(&a->stats, on_tick, STATS_MS, STATS_MS);
  uv_unref((uv_handle_t *)&a->stats);
  uv_unref((uv_handle_t *)&a->defer);
  emit_stats(a);
}
