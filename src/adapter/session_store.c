/* Connection state recovery in memory (see session_store.h): a byte ring of stored packets, in
 * offset order, and a map pid -> session with the sessions in a FIFO by disconnect time.
 * A packet is one record of the ring (its header, rooms, data and attachments); a session is
 * one allocation (the struct, its strings). */
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

/* A stored packet is a record of the byte ring, 8-byte aligned, never split by the ring's end:
 *   rec | att_len[natt] | rooms (strings, NUL after each) | except (same) | data | attachments
 * A filler record (kind 1) pads from a record that would not fit to the ring's end; only its
 * first 8 bytes are written, the least room there can be. Packets follow each other in
 * memory in offset order, so adding and dropping walk the ring forward (no pointer chasing,
 * no allocation per packet, about half the bytes of a struct and strings per malloc). */
typedef struct rec {
  uint32_t size; /* of the record, all included: a multiple of 8 */
  uint16_t kind; /* REC_PACKET or REC_FILLER */
  uint16_t natt;
  uint32_t len; /* of the data array */
  uint16_t nrooms, nexcept;
  uint64_t at;
} rec;

enum { REC_PACKET = 0, REC_FILLER = 1 };
#define REC_ALIGN 8
#define RING_MIN  4096

typedef struct ssess {
  sio__list link; /* st->sessions, oldest first */
  uint64_t at;    /* disconnected at */
  char *pid, *sid, *data, *offset;
  char **rooms;
  size_t nrooms;
} ssess;

struct sio__sstore {
  unsigned char *ring; /* cap bytes, a power of two */
  size_t cap;
  uint64_t head, tail; /* byte positions (masked by cap - 1): the oldest record, the end */
  size_t n;            /* packets in the ring (fillers not counted) */
  /* Per packet, oldest first from steps[sfirst]: the bytes from the end of the one before to
   * its own end (a filler before it included). Dropping the oldest reads this (4 bytes a
   * packet, hot) and not the record (cold, some 900 KB back for 10,000 echo packets). */
  uint32_t *steps;
  size_t scap, sfirst; /* scap: a power of two */
  uint64_t seq;        /* the last seq given (0: none yet) */
  uint64_t dropped;    /* the highest seq no longer kept (0: none) */
  uint32_t epoch;
  char prefix[10]; /* "<epoch as 8 lower-case hex digits>-" */
  /* The offset of seq + 1, ready before the add that gives it: copied whole (the bytes the
   * last increment stored have long left the store buffer, so the copy's wide loads do not
   * wait on them, as a copy right after the increment did), then incremented as text. */
  char next[SIO__SSTORE_OFFSET_MAX];
  uint8_t next_len;
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
  memcpy(st->next, st->prefix, 9);
  st->next[9] = '1';
  st->next_len = 10;
  return st;
}

static void session_free(sio__sstore *st, ssess *s) {
  sio__map_del(&st->by_pid, s->pid, strlen(s->pid));
  sio__list_remove(&s->link);
  st->nsessions--;
  sio__free(s);
}

static rec *rec_at(const sio__sstore *st, uint64_t pos) {
  return (rec *)(st->ring + (pos & (st->cap - 1)));
}

/* The packet at or after *pos (a filler is skipped), *pos moved past it; NULL at the tail. */
static const rec *next_packet(const sio__sstore *st, uint64_t *pos) {
  while (*pos != st->tail) {
    const rec *r = rec_at(st, *pos);
    *pos += r->size;
    if (r->kind == REC_PACKET) return r;
  }
  return NULL;
}

/* The oldest packet (st->n > 0), past the filler that may come before it. */
static const rec *head_packet(const sio__sstore *st) {
  uint64_t pos = st->head;
  return next_packet(st, &pos);
}

/* The seq of the oldest packet kept: seqs are given one after another and dropped oldest first. */
static uint64_t first_seq(const sio__sstore *st) {
  return st->seq - st->n + 1;
}

static void drop_head_packet(sio__sstore *st) {
  st->dropped = first_seq(st);
  st->head += st->steps[st->sfirst];
  st->sfirst = (st->sfirst + 1) & (st->scap - 1);
  if (!--st->n) st->head = st->tail = 0; /* empty: the next record starts the ring again */
}

void sio__sstore_free(sio__sstore *st) {
  if (!st) return;
  while (st->n) drop_head_packet(st);
  while (!sio__list_empty(&st->sessions))
    session_free(st, sio__container_of(st->sessions.next, ssess, link));
  sio__map_free(&st->by_pid);
  sio__free(st->ring);
  sio__free(st->steps);
  sio__free(st);
}

static int expired(uint64_t at, const sio__sstore_limits *l, uint64_t now) {
  return at + l->window_ms < now;
}

void sio__sstore_sweep(sio__sstore *st, const sio__sstore_limits *l, uint64_t now) {
  while (st->n && (st->n > l->max_packets || expired(head_packet(st)->at, l, now)))
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

/* Gives seq + 1: its offset to off (the text kept for it, on the path of every stored packet),
 * then the text of the one after. Returns the offset's length. */
static size_t next_seq(sio__sstore *st, char off[SIO__SSTORE_OFFSET_MAX]) {
  memcpy(off, st->next, SIO__SSTORE_OFFSET_MAX); /* NUL included: next is kept terminated */
  size_t len = st->next_len;
  st->seq++;
  char *dec = st->next + 9;
  int i = st->next_len - 10;
  while (i >= 0 && dec[i] == '9') dec[i--] = '0';
  if (i >= 0) {
    dec[i]++;
  } else { /* 99…9 + 1: one digit more */
    memmove(dec + 1, dec, st->next_len - 9);
    dec[0] = '1';
    st->next_len++;
    st->next[st->next_len] = '\0';
  }
  return len;
}

void sio__sstore_last(const sio__sstore *st, char off[SIO__SSTORE_OFFSET_MAX]) {
  format_offset(st, st->seq, off);
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

/* The names of a packet's rooms and excepted rooms, with their lengths (NUL included) measured
 * once: the usual packet (a socket.emit) has one room, its socket's id. */
#define NAMES_MEASURED 8
typedef struct names {
  const char *const *v;
  size_t n, len[NAMES_MEASURED], total;
} names;

static void measure(names *ns, const char *const *v, size_t n) {
  ns->v = v;
  ns->n = n;
  ns->total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    if (i < NAMES_MEASURED) ns->len[i] = len;
    ns->total += len;
  }
}

/* Copies the names, one after another (NUL after each), to w; returns the end. */
static unsigned char *pack_names(unsigned char *w, const names *ns) {
  for (size_t i = 0; i < ns->n; i++) {
    size_t len = i < NAMES_MEASURED ? ns->len[i] : strlen(ns->v[i]) + 1;
    memcpy(w, ns->v[i], len);
    w += len;
  }
  return w;
}

/* Lays the records out again from position 0 of a ring of cap bytes (fillers left out). */
static int ring_grow(sio__sstore *st, size_t cap) {
  unsigned char *nr = sio__malloc(cap);
  if (!nr) return -ENOMEM;
  uint64_t w = 0;
  size_t k = st->sfirst;
  uint64_t pos = st->head;
  for (const rec *r; (r = next_packet(st, &pos));) {
    memcpy(nr + w, r, r->size);
    w += r->size;
    st->steps[k] = r->size; /* no filler any more */
    k = (k + 1) & (st->scap - 1);
  }
  sio__free(st->ring);
  st->ring = nr;
  st->cap = cap;
  st->head = 0;
  st->tail = w;
  return 0;
}

/* One more entry in steps (st->n < the entries once this returns 0). */
static int steps_reserve(sio__sstore *st) {
  if (st->n < st->scap) return 0;
  size_t cap = st->scap ? st->scap * 2 : 64;
  uint32_t *v = sio__malloc(cap * sizeof(*v));
  if (!v) return -ENOMEM;
  for (size_t i = 0; i < st->n; i++) v[i] = st->steps[(st->sfirst + i) & (st->scap - 1)];
  sio__free(st->steps);
  st->steps = v;
  st->scap = cap;
  st->sfirst = 0;
  return 0;
}

/* Room for a record of size bytes at the tail, in one piece: a filler to the ring's end first
 * if it would not fit there, a ring twice as large if the records kept leave too little.
 * *filler: the filler's bytes (0: none). */
static rec *ring_reserve(sio__sstore *st, size_t size, size_t *filler) {
  *filler = 0;
  for (;;) {
    size_t used = (size_t)(st->tail - st->head);
    size_t at = st->cap ? (size_t)(st->tail & (st->cap - 1)) : 0;
    size_t to_end = st->cap - at;
    size_t need = size <= to_end ? size : to_end + size;
    if (st->cap && st->cap - used >= need) {
      if (size > to_end) { /* to_end >= 8: sizes and the ring are multiples of REC_ALIGN */
        rec *f = rec_at(st, st->tail);
        f->size = (uint32_t)to_end;
        f->kind = REC_FILLER;
        st->tail += to_end;
        *filler = to_end;
      }
      return rec_at(st, st->tail);
    }
    size_t cap = st->cap ? st->cap : RING_MIN;
    while (cap - used < size) cap *= 2;
    if (cap == st->cap) cap *= 2; /* enough bytes but not in one piece: relaid, it is */
    if (ring_grow(st, cap)) return NULL;
  }
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
  names rooms, except;
  measure(&rooms, o->rooms, o->nrooms);
  measure(&except, o->except, o->nexcept);
  size_t size = sizeof(rec) + natt * sizeof(size_t) + rooms.total + except.total + len + att_bytes;
  size = (size + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
  if (size > UINT32_MAX / 2 || natt > UINT16_MAX || o->nrooms > UINT16_MAX ||
      o->nexcept > UINT16_MAX)
    return -ENOMEM; /* not a packet one keeps for a replay */
  size_t filler;
  rec *k = steps_reserve(st) ? NULL : ring_reserve(st, size, &filler);
  if (!k) return -ENOMEM;
  k->size = (uint32_t)size;
  k->kind = REC_PACKET;
  k->natt = (uint16_t)natt;
  k->len = (uint32_t)len;
  k->nrooms = (uint16_t)o->nrooms;
  k->nexcept = (uint16_t)o->nexcept;
  k->at = now;
  size_t *att_len = (size_t *)(k + 1);
  unsigned char *w = (unsigned char *)(att_len + natt);
  w = pack_names(w, &rooms);
  w = pack_names(w, &except);
  memcpy(w, data, len);
  w += len;
  for (unsigned i = 0; i < natt; i++) {
    const void *a = sio_packet_attachment(p, i, &att_len[i]);
    memcpy(w, a, att_len[i]);
    w += att_len[i];
  }
  st->tail += size;
  st->steps[(st->sfirst + st->n) & (st->scap - 1)] = (uint32_t)(filler + size);
  st->n++;
  size_t off_len = next_seq(st, off);
  if (st->n > l->max_packets) {
    if (!st->warned_packets)
      sio__warn("recovery: namespace %s keeps at most %zu packets (max_packets): the oldest are "
                "dropped, and a client that missed one of them reconnects as a new socket",
                st->label, l->max_packets);
    st->warned_packets = 1;
    while (st->n > l->max_packets) drop_head_packet(st);
  }
  return (int)off_len;
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

/* A record's parts, read from the ring. */
typedef struct rec_view {
  const size_t *att_len;
  const char *rooms, *except, *data;
  const unsigned char *att; /* the attachments, one after another */
} rec_view;

static const char *skip_strs(const char *v, size_t n) {
  for (size_t i = 0; i < n; i++) v += strlen(v) + 1;
  return v;
}

static rec_view view_of(const rec *r) {
  rec_view v;
  v.att_len = (const size_t *)(r + 1);
  v.rooms = (const char *)(v.att_len + r->natt);
  v.except = skip_strs(v.rooms, r->nrooms);
  v.data = skip_strs(v.except, r->nexcept);
  v.att = (const unsigned char *)v.data + r->len;
  return v;
}

/* Whether room is one of the n strings packed at v. */
static int in_packed(const char *v, size_t n, const char *room) {
  for (size_t i = 0; i < n; i++, v += strlen(v) + 1)
    if (strcmp(v, room) == 0) return 1;
  return 0;
}

/* socket.io-adapter's shouldIncludePacket: no rooms (everyone) or one of the session's rooms
 * (its own, sid, included), and none of them excepted. */
static int selects(const ssess *s, const rec *r, const rec_view *v) {
  int in = r->nrooms == 0 || in_packed(v->rooms, r->nrooms, s->sid);
  for (size_t i = 0; !in && i < s->nrooms; i++) in = in_packed(v->rooms, r->nrooms, s->rooms[i]);
  if (!in || in_packed(v->except, r->nexcept, s->sid)) return 0;
  for (size_t i = 0; i < s->nrooms; i++)
    if (in_packed(v->except, r->nexcept, s->rooms[i])) return 0;
  return 1;
}

/* The missed packets of s after seq from, each ["event",args…,"<offset>"] in text, their
 * attachments copied to atts (fn may store packets, which moves the ring's records). */
typedef struct missed {
  sio_missed_packet *pk;
  size_t n;
  sio__sbuf text, atts;
  size_t *ends, *att_at; /* per packet: its end in text; per attachment: its start in atts */
  const void **att_ptrs;
  size_t *att_lens;
} missed;

static void missed_free(missed *ms) {
  sio__sbuf_free(&ms->text);
  sio__sbuf_free(&ms->atts);
  sio__free(ms->ends);
  sio__free(ms->att_at);
  sio__free(ms->att_ptrs);
  sio__free(ms->att_lens);
  sio__free(ms->pk);
}

static int collect_missed(sio__sstore *st, const ssess *s, uint64_t from, missed *ms) {
  size_t n = 0, natt = 0;
  uint64_t seq = first_seq(st);
  uint64_t pos = st->head;
  for (const rec *r; (r = next_packet(st, &pos));) {
    rec_view v = view_of(r);
    if (seq++ > from && selects(s, r, &v)) n++, natt += r->natt;
  }
  if (!n) return 0;
  ms->pk = sio__calloc(n, sizeof(*ms->pk));
  ms->ends = sio__calloc(n, sizeof(*ms->ends));
  if (natt) {
    ms->att_at = sio__calloc(natt, sizeof(*ms->att_at));
    ms->att_ptrs = sio__calloc(natt, sizeof(*ms->att_ptrs));
    ms->att_lens = sio__calloc(natt, sizeof(*ms->att_lens));
  }
  if (!ms->pk || !ms->ends || (natt && (!ms->att_at || !ms->att_ptrs || !ms->att_lens)))
    return -ENOMEM;
  size_t j = 0, a = 0;
  seq = first_seq(st);
  pos = st->head;
  for (const rec *r; (r = next_packet(st, &pos));) {
    rec_view v = view_of(r);
    if (seq++ <= from || !selects(s, r, &v)) continue;
    char off[SIO__SSTORE_OFFSET_MAX];
    format_offset(st, seq - 1, off);
    /* ["event",args…] -> ["event",args…,"<offset>"] */
    if (sio__sbuf_append(&ms->text, v.data, r->len - 1) || sio__sbuf_appends(&ms->text, ",\"") ||
        sio__sbuf_appends(&ms->text, off) || sio__sbuf_appends(&ms->text, "\"]"))
      return -ENOMEM;
    ms->ends[j] = ms->text.len;
    ms->pk[j].natt = r->natt;
    const unsigned char *ab = v.att;
    for (unsigned i = 0; i < r->natt; i++, a++) {
      ms->att_at[a] = ms->atts.len;
      ms->att_lens[a] = v.att_len[i];
      if (sio__sbuf_append(&ms->atts, (const char *)ab, v.att_len[i])) return -ENOMEM;
      ab += v.att_len[i];
    }
    j++;
  }
  /* the pointers once text and atts no longer move */
  for (size_t i = 0, a2 = 0; i < n; i++) {
    size_t start = i ? ms->ends[i - 1] : 0;
    ms->pk[i].data = ms->text.data + start;
    ms->pk[i].len = ms->ends[i] - start;
    if (ms->pk[i].natt) {
      ms->pk[i].att = ms->att_ptrs + a2;
      ms->pk[i].att_len = ms->att_lens + a2;
    }
    for (unsigned k = 0; k < ms->pk[i].natt; k++, a2++)
      ms->att_ptrs[a2] = ms->atts.data + ms->att_at[a2];
  }
  ms->n = n;
  return 0;
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
  missed ms;
  memset(&ms, 0, sizeof ms);
  int rc = collect_missed(st, s, from, &ms);
  if (!rc) {
    /* out of the map before fn: fn may connect the socket, whose handlers may persist or
     * restore again */
    sio__map_del(&st->by_pid, s->pid, strlen(s->pid));
    sio__list_remove(&s->link);
    st->nsessions--;
    sio_session view = {s->pid,    s->sid,  (const char *const *)s->rooms,
                        s->nrooms, s->data, s->offset};
    fn(0, &view, ms.pk, ms.n, user);
    sio__free(s);
  }
  missed_free(&ms);
  return rc;
}

size_t sio__sstore_packets(const sio__sstore *st) {
  return st->n;
}
size_t sio__sstore_sessions(const sio__sstore *st) {
  return st->nsessions;
}
