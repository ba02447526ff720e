/* Connection state recovery in memory (see session_store.h): a ring of stored packets, in
 * offset order, and a map pid -> session with the sessions in a FIFO by disconnect time.
 * Each packet and each session is one allocation (the struct, its strings and bytes). */
#include "adapter/session_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/list.h"
#include "core/log.h"
#include "core/map.h"

typedef struct spkt {
  uint64_t seq, at;
  size_t size; /* of this allocation (a dropped packet's is reused for the next one) */
  char **rooms, **except;
  uint32_t nrooms, nexcept;
  const void **att;
  size_t *att_len;
  unsigned natt;
  size_t len;
  char *data; /* the data array as broadcast (no offset) */
} spkt;

typedef struct ssess {
  sio__list link; /* st->sessions, oldest first */
  uint64_t at;    /* disconnected at */
  char *pid, *sid, *data, *offset;
  char **rooms;
  size_t nrooms;
} ssess;

struct sio__sstore {
  spkt **ring;
  size_t cap, head, n;
  uint64_t seq;     /* the last seq given (0: none yet) */
  uint64_t dropped; /* the highest seq no longer kept (0: none) */
  uint32_t epoch;
  char prefix[10]; /* "<epoch as 8 lower-case hex digits>-" */
  char dec[21];    /* seq in decimal (kept as text: incremented, never formatted) */
  uint8_t dec_len;
  spkt *spare;       /* the last packet dropped, kept for the next one that fits in it */
  uint64_t added_at; /* the time of the last add: an add sweeps once per tick of the clock */
  sio__map by_pid;
  sio__list sessions;
  size_t nsessions;
  uint8_t warned_packets, warned_sessions;
  char label[64];
};

sio__sstore *sio__sstore_new(const char *label) {
  sio__sstore *st = sio__calloc(1, sizeof(*st));
  if (!st) return NULL;
  if (sio__random_bytes(&st->epoch, sizeof st->epoch)) {
    sio__free(st);
    return NULL;
  }
  sio__list_init(&st->sessions);
  snprintf(st->label, sizeof st->label, "%s", label ? label : "?");
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++) st->prefix[i] = hex[(st->epoch >> (28 - 4 * i)) & 15];
  st->prefix[8] = '-';
  st->dec[0] = '0';
  st->dec_len = 1;
  return st;
}

static void session_free(sio__sstore *st, ssess *s) {
  sio__map_del(&st->by_pid, s->pid, strlen(s->pid));
  sio__list_remove(&s->link);
  st->nsessions--;
  sio__free(s);
}

static void drop_head_packet(sio__sstore *st) {
  spkt *p = st->ring[st->head];
  st->ring[st->head] = NULL;
  st->head = (st->head + 1) & (st->cap - 1);
  st->n--;
  if (p->seq > st->dropped) st->dropped = p->seq;
  if (st->spare) sio__free(st->spare); /* usually taken by the add that made this drop */
  st->spare = p;
}

void sio__sstore_free(sio__sstore *st) {
  if (!st) return;
  while (st->n) drop_head_packet(st);
  while (!sio__list_empty(&st->sessions))
    session_free(st, sio__container_of(st->sessions.next, ssess, link));
  sio__map_free(&st->by_pid);
  sio__free(st->spare);
  sio__free(st->ring);
  sio__free(st);
}

static int expired(uint64_t at, const sio__sstore_limits *l, uint64_t now) {
  return at + l->window_ms < now;
}

void sio__sstore_sweep(sio__sstore *st, const sio__sstore_limits *l, uint64_t now) {
  while (st->n && (expired(st->ring[st->head]->at, l, now) || st->n > l->max_packets))
    drop_head_packet(st);
  while (!sio__list_empty(&st->sessions)) {
    ssess *s = sio__container_of(st->sessions.next, ssess, link);
    if (!expired(s->at, l, now) && st->nsessions <= l->max_sessions) break;
    session_free(st, s);
  }
}

/* "<epoch as 8 lower-case hex digits>-<seq in decimal>". Returns its length. */
static size_t format_offset(const sio__sstore *st, uint64_t seq, char off[SIO__SSTORE_OFFSET_MAX]) {
  int n = snprintf(off, SIO__SSTORE_OFFSET_MAX, "%.9s%llu", st->prefix, (unsigned long long)seq);
  return n > 0 ? (size_t)n : 0;
}

/* The newest offset (of st->seq) from the text kept for it: on the path of every stored packet. */
static size_t newest_offset(const sio__sstore *st, char off[SIO__SSTORE_OFFSET_MAX]) {
  memcpy(off, st->prefix, 9);
  memcpy(off + 9, st->dec, st->dec_len);
  off[9 + st->dec_len] = '\0';
  return 9 + (size_t)st->dec_len;
}

/* st->seq + 1, in both forms. */
static void next_seq(sio__sstore *st) {
  st->seq++;
  int i = st->dec_len - 1;
  while (i >= 0 && st->dec[i] == '9') st->dec[i--] = '0';
  if (i >= 0) {
    st->dec[i]++;
  } else { /* 99…9 + 1: one digit more */
    memmove(st->dec + 1, st->dec, st->dec_len);
    st->dec[0] = '1';
    st->dec_len++;
  }
}

void sio__sstore_last(const sio__sstore *st, char off[SIO__SSTORE_OFFSET_MAX]) {
  newest_offset(st, off);
}

/* "<8 hex>-<decimal>" of this store: 0 and *seq, or -1 (another store's, or not an offset). */
static int parse_offset(const sio__sstore *st, const char *off, uint64_t *seq) {
  if (!off || strlen(off) < 10 || off[8] != '-') return -1;
  uint32_t epoch = 0;
  for (int i = 0; i < 8; i++) {
    int v = sio__hex_value((unsigned char)off[i]);
    if (v < 0 || (off[i] >= 'A' && off[i] <= 'F')) return -1; /* written in lower case */
    epoch = epoch << 4 | (uint32_t)v;
  }
  if (epoch != st->epoch) return -1;
  const char *d = off + 9;
  size_t n = strlen(d);
  if (n > 20 || (n > 1 && d[0] == '0')) return -1;
  return sio__parse_u64(d, n, seq) ? -1 : 0;
}

static size_t strs_size(const char *const *v, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++) t += strlen(v[i]) + 1;
  return t;
}

/* Copies v[0..n) as strings after *bytes, their pointers into out. */
static void copy_strs(char **out, const char *const *v, size_t n, char **bytes) {
  for (size_t i = 0; i < n; i++) {
    out[i] = *bytes;
    *bytes = stpcpy(*bytes, v[i]) + 1;
  }
}

static int ring_push(sio__sstore *st, spkt *p) {
  if (st->n == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 64; /* a power of two: positions are masked */
    spkt **r = sio__calloc(cap, sizeof(*r));
    if (!r) return -ENOMEM;
    for (size_t i = 0; i < st->n; i++) r[i] = st->ring[(st->head + i) & (st->cap - 1)];
    sio__free(st->ring);
    st->ring = r;
    st->cap = cap;
    st->head = 0;
  }
  st->ring[(st->head + st->n) & (st->cap - 1)] = p;
  st->n++;
  return 0;
}

int sio__sstore_add(sio__sstore *st, const sio__sstore_limits *l, uint64_t now, const sio_packet *p,
                    const sio_bcast_opts *o, char off[SIO__SSTORE_OFFSET_MAX]) {
  if (now != st->added_at || !st->n) { /* the packet cap is kept below, at every add */
    sio__sstore_sweep(st, l, now);
    st->added_at = now;
  }
  size_t len;
  const char *data = sio_packet_data(p, &len);
  unsigned natt = sio_packet_attachments(p);
  size_t att_bytes = 0;
  for (unsigned i = 0; i < natt; i++) {
    size_t al;
    sio_packet_attachment(p, i, &al);
    att_bytes += al;
  }
  size_t nptr = o->nrooms + o->nexcept;
  size_t size = sizeof(spkt) + nptr * sizeof(char *) + natt * (sizeof(void *) + sizeof(size_t)) +
                strs_size(o->rooms, o->nrooms) + strs_size(o->except, o->nexcept) + len + att_bytes;
  spkt *k = st->spare && st->spare->size >= size && st->spare->size <= 2 * size ? st->spare : NULL;
  if (k)
    st->spare = NULL;
  else if ((k = sio__malloc(size)))
    k->size = size;
  else
    return -ENOMEM;
  char **ptrs = (char **)(k + 1);
  k->rooms = ptrs;
  k->except = ptrs + o->nrooms;
  k->att = (const void **)(ptrs + nptr);
  k->att_len = (size_t *)(k->att + natt);
  char *bytes = (char *)(k->att_len + natt);
  copy_strs(k->rooms, o->rooms, o->nrooms, &bytes);
  copy_strs(k->except, o->except, o->nexcept, &bytes);
  k->nrooms = (uint32_t)o->nrooms;
  k->nexcept = (uint32_t)o->nexcept;
  k->data = bytes;
  memcpy(bytes, data, len);
  bytes += len;
  k->len = len;
  k->natt = natt;
  for (unsigned i = 0; i < natt; i++) {
    const void *a = sio_packet_attachment(p, i, &k->att_len[i]);
    memcpy(bytes, a, k->att_len[i]);
    k->att[i] = bytes;
    bytes += k->att_len[i];
  }
  k->at = now;
  k->seq = st->seq + 1;
  if (ring_push(st, k)) {
    sio__free(k);
    return -ENOMEM;
  }
  next_seq(st);
  if (st->n > l->max_packets) {
    if (!st->warned_packets)
      sio__warn("recovery: namespace %s keeps at most %zu packets (max_packets): the oldest are "
                "dropped, and a client that missed one of them reconnects as a new socket",
                st->label, l->max_packets);
    st->warned_packets = 1;
    while (st->n > l->max_packets) drop_head_packet(st);
  }
  return (int)newest_offset(st, off);
}

int sio__sstore_persist(sio__sstore *st, const sio__sstore_limits *l, uint64_t now,
                        const sio_session *s) {
  if (!s || !s->pid || !s->sid || (s->nrooms && !s->rooms)) return -EINVAL;
  sio__sstore_sweep(st, l, now);
  if (!l->max_sessions) return 0;
  const char *data = s->data_json ? s->data_json : "{}";
  const char *offset = s->offset ? s->offset : "";
  size_t size = sizeof(ssess) + s->nrooms * sizeof(char *) + strlen(s->pid) + strlen(s->sid) +
                strlen(data) + strlen(offset) + 4 + strs_size(s->rooms, s->nrooms);
  ssess *k = sio__malloc(size);
  if (!k) return -ENOMEM;
  k->rooms = (char **)(k + 1);
  char *bytes = (char *)(k->rooms + s->nrooms);
  const char *const fields[] = {s->pid, s->sid, data, offset};
  char *copies[4];
  copy_strs(copies, fields, 4, &bytes);
  k->pid = copies[0], k->sid = copies[1], k->data = copies[2], k->offset = copies[3];
  copy_strs(k->rooms, s->rooms, s->nrooms, &bytes);
  k->nrooms = s->nrooms;
  k->at = now;
  ssess *old = sio__map_get(&st->by_pid, k->pid, strlen(k->pid));
  if (old) session_free(st, old);
  if (sio__map_put_ref(&st->by_pid, k->pid, strlen(k->pid), k)) {
    sio__free(k);
    return -ENOMEM;
  }
  sio__list_insert_tail(&st->sessions, &k->link);
  st->nsessions++;
  if (st->nsessions > l->max_sessions) {
    if (!st->warned_sessions)
      sio__warn("recovery: namespace %s keeps at most %zu disconnected sessions (max_sessions): "
                "the oldest are dropped",
                st->label, l->max_sessions);
    st->warned_sessions = 1;
    while (st->nsessions > l->max_sessions)
      session_free(st, sio__container_of(st->sessions.next, ssess, link));
  }
  return 0;
}

static int in_list(char *const *v, size_t n, const char *room) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], room) == 0) return 1;
  return 0;
}

/* socket.io-adapter's shouldIncludePacket: no rooms (everyone) or one of the session's rooms
 * (its own, sid, included), and none of them excepted. */
static int selects(const ssess *s, const spkt *p) {
  int in = p->nrooms == 0 || in_list(p->rooms, p->nrooms, s->sid);
  for (size_t i = 0; !in && i < s->nrooms; i++) in = in_list(p->rooms, p->nrooms, s->rooms[i]);
  if (!in || in_list(p->except, p->nexcept, s->sid)) return 0;
  for (size_t i = 0; i < s->nrooms; i++)
    if (in_list(p->except, p->nexcept, s->rooms[i])) return 0;
  return 1;
}

int sio__sstore_restore(sio__sstore *st, const sio__sstore_limits *l, uint64_t now, const char *pid,
                        const char *offset, sio_restore_fn fn, void *user) {
  if (!pid || !fn) return -EINVAL;
  sio__sstore_sweep(st, l, now);
  ssess *s = sio__map_get(&st->by_pid, pid, strlen(pid));
  if (!s) return SIO_ENOTFOUND;
  /* From the later of the session's own position and the client's offset: a client offset
   * older than the session (kept from an earlier session of the same client) must not replay
   * what was sent before this socket existed. */
  uint64_t from = 0, seq;
  if (parse_offset(st, s->offset, &from)) from = 0;
  if (offset && (parse_offset(st, offset, &seq) || seq > st->seq)) {
    session_free(st, s); /* another store's, or an offset never given: refused */
    return SIO_ENOTFOUND;
  }
  if (offset && seq > from) from = seq;
  if (from < st->dropped) { /* a packet it missed is gone: never restore with a gap */
    session_free(st, s);
    return SIO_ENOTFOUND;
  }
  size_t n = 0;
  for (size_t i = 0; i < st->n; i++) {
    const spkt *p = st->ring[(st->head + i) & (st->cap - 1)];
    if (p->seq > from && selects(s, p)) n++;
  }
  sio_missed_packet *pk = n ? sio__calloc(n, sizeof(*pk)) : NULL;
  size_t *ends = n ? sio__calloc(n, sizeof(*ends)) : NULL;
  sio__sbuf text = SIO__SBUF_INIT;
  int rc = n && (!pk || !ends) ? -ENOMEM : 0;
  size_t j = 0;
  for (size_t i = 0; !rc && i < st->n; i++) {
    const spkt *p = st->ring[(st->head + i) & (st->cap - 1)];
    if (p->seq <= from || !selects(s, p)) continue;
    char off[SIO__SSTORE_OFFSET_MAX];
    format_offset(st, p->seq, off);
    /* ["event",args…] -> ["event",args…,"<offset>"] */
    if (sio__sbuf_append(&text, p->data, p->len - 1) || sio__sbuf_appends(&text, ",\"") ||
        sio__sbuf_appends(&text, off) || sio__sbuf_appends(&text, "\"]")) {
      rc = -ENOMEM;
      break;
    }
    ends[j] = text.len;
    pk[j].att = p->att;
    pk[j].att_len = p->att_len;
    pk[j].natt = p->natt;
    j++;
  }
  if (!rc) {
    for (size_t i = 0; i < n; i++) {
      size_t start = i ? ends[i - 1] : 0;
      pk[i].data = text.data + start;
      pk[i].len = ends[i] - start;
    }
    /* out of the map before fn: fn may connect the socket, whose handlers may persist or
     * restore again */
    sio__map_del(&st->by_pid, s->pid, strlen(s->pid));
    sio__list_remove(&s->link);
    st->nsessions--;
    sio_session view = {s->pid,    s->sid,  (const char *const *)s->rooms,
                        s->nrooms, s->data, s->offset};
    fn(0, &view, pk, n, user);
    sio__free(s);
  }
  sio__sbuf_free(&text);
  sio__free(ends);
  sio__free(pk);
  return rc;
}

size_t sio__sstore_packets(const sio__sstore *st) {
  return st->n;
}
size_t sio__sstore_sessions(const sio__sstore *st) {
  return st->nsessions;
}
