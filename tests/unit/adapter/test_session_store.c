/* The in-memory store of connection state recovery (src/adapter/session_store.c): offsets,
 * restore in order with Node's room/except filter, the window, the caps (logged once), the
 * refusals (gap, forged or foreign offset, consumed session), and the two cases where Node's
 * store fails: no offset (#5538) and an offset whose packet was swept (#5282). Time is given
 * to the store, so nothing here sleeps. Also the in-memory adapter's seam ops around it (with
 * store_emit, a stored socket.emit), and the offset appended to an encoded packet (in place,
 * or in a copy when it is shared). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/session_store.h"
#include "core/alloc.h"
#include "sio/recovery.h"
#include "socketio/io_internal.h"
#include "ws/codec.h"

static const sio__sstore_limits LIM = {1000, 100, 100};

/* Stores ["ev","<text>"] to rooms/except. */
static void add(sio__sstore *st, const sio__sstore_limits *l, uint64_t now, const char *text,
                const char *const *rooms, size_t nr, const char *const *ex, size_t ne,
                char off[SIO__SSTORE_OFFSET_MAX]) {
  char data[128];
  snprintf(data, sizeof data, "[\"ev\",\"%s\"]", text);
  sio_packet p = {"/", data, strlen(data), NULL, NULL};
  sio_bcast_opts o = {rooms, nr, ex, ne, 0, 0};
  char tmp[SIO__SSTORE_OFFSET_MAX];
  char *w = off ? off : tmp;
  int n = sio__sstore_add(st, l, now, &p, &o, w);
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(w)); /* the offset's length */
}

typedef struct restored {
  int calls;
  char sid[32], data[64], offset[64];
  size_t nrooms;
  char rooms[4][16];
  size_t n;
  char pk[16][96];
  unsigned natt[16];
} restored;

static void on_restore(int status, const sio_session *s, const sio_missed_packet *pk, size_t n,
                       void *user) {
  restored *r = user;
  r->calls++;
  assert_int_equal(status, 0);
  snprintf(r->sid, sizeof r->sid, "%s", s->sid);
  snprintf(r->data, sizeof r->data, "%s", s->data_json);
  snprintf(r->offset, sizeof r->offset, "%s", s->offset ? s->offset : "");
  r->nrooms = s->nrooms;
  for (size_t i = 0; i < s->nrooms && i < 4; i++)
    snprintf(r->rooms[i], sizeof r->rooms[i], "%s", s->rooms[i]);
  r->n = n;
  for (size_t i = 0; i < n && i < 16; i++) {
    snprintf(r->pk[i], sizeof r->pk[i], "%.*s", (int)pk[i].len, pk[i].data);
    r->natt[i] = pk[i].natt;
  }
}

static void persist(sio__sstore *st, const sio__sstore_limits *l, uint64_t now, const char *pid,
                    const char *sid, const char *const *rooms, size_t nr, const char *offset) {
  sio_session s = {pid, sid, rooms, nr, "{\"u\":1}", offset};
  assert_int_equal(sio__sstore_persist(st, l, now, &s), 0);
}

/* The packet text for `text` at offset off: ["ev","text","off"]. */
static void expect_pk(const char *got, const char *text, const char *off) {
  char want[128];
  snprintf(want, sizeof want, "[\"ev\",\"%s\",\"%s\"]", text, off);
  assert_string_equal(got, want);
}

static void test_offsets_and_restore_in_order(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX], o1[SIO__SSTORE_OFFSET_MAX], o2[SIO__SSTORE_OFFSET_MAX],
      o3[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  assert_int_equal(strlen(base), 10); /* "<8 hex>-0" */
  assert_int_equal(base[9], '0');
  add(st, &LIM, 10, "a", NULL, 0, NULL, 0, o1);
  add(st, &LIM, 11, "b", NULL, 0, NULL, 0, o2);
  add(st, &LIM, 12, "c", NULL, 0, NULL, 0, o3);
  assert_string_not_equal(o1, o2);
  assert_memory_equal(o1, base, 9); /* same epoch */
  char last[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, last);
  assert_string_equal(last, o3);
  const char *rooms[] = {"r1", "r2"};
  persist(st, &LIM, 20, "pid1", "sid1", rooms, 2, base);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 30, "pid1", o1, on_restore, &r), 0);
  assert_int_equal(r.calls, 1);
  assert_string_equal(r.sid, "sid1");
  assert_string_equal(r.data, "{\"u\":1}");
  assert_string_equal(r.offset, base);
  assert_int_equal(r.nrooms, 2);
  assert_string_equal(r.rooms[1], "r2");
  assert_int_equal(r.n, 2);
  expect_pk(r.pk[0], "b", o2);
  expect_pk(r.pk[1], "c", o3);
  /* consumed: a second restore of the same pid is refused */
  assert_int_equal(sio__sstore_restore(st, &LIM, 31, "pid1", o1, on_restore, &r), SIO_ENOTFOUND);
  assert_int_equal(r.calls, 1);
  assert_int_equal(sio__sstore_restore(st, &LIM, 31, "nope", o1, on_restore, &r), SIO_ENOTFOUND);
  sio__sstore_free(st);
}

static void test_rooms_and_except(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  const char *r1[] = {"r1"}, *r9[] = {"r9"}, *own[] = {"sid1"}, *two[] = {"r9", "r1"};
  add(st, &LIM, 1, "all", NULL, 0, NULL, 0, NULL);
  add(st, &LIM, 1, "to-r1", r1, 1, NULL, 0, NULL);
  add(st, &LIM, 1, "to-r9", r9, 1, NULL, 0, NULL);
  add(st, &LIM, 1, "direct", own, 1, NULL, 0, NULL);
  add(st, &LIM, 1, "all-but-r1", NULL, 0, r1, 1, NULL);
  add(st, &LIM, 1, "all-but-me", NULL, 0, own, 1, NULL);
  add(st, &LIM, 1, "r9-or-r1", two, 2, NULL, 0, NULL);
  add(st, &LIM, 1, "r1-but-r1", r1, 1, r1, 1, NULL);
  persist(st, &LIM, 2, "p", "sid1", r1, 1, base);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 3, "p", NULL, on_restore, &r), 0);
  const char *want[] = {"all", "to-r1", "direct", "r9-or-r1"};
  assert_int_equal(r.n, 4);
  for (size_t i = 0; i < 4; i++) assert_non_null(strstr(r.pk[i], want[i]));
  assert_null(strstr(r.pk[0], "to-r9"));
  sio__sstore_free(st);
}

/* #5538: no client offset: from the session's position (where its socket first connected). A
 * client offset older than that position is raised to it. */
static void test_no_offset_and_old_offset(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char early[SIO__SSTORE_OFFSET_MAX], base[SIO__SSTORE_OFFSET_MAX];
  add(st, &LIM, 1, "before-it-connected", NULL, 0, NULL, 0, early);
  sio__sstore_last(st, base); /* the socket connects here */
  add(st, &LIM, 2, "missed", NULL, 0, NULL, 0, NULL);
  persist(st, &LIM, 3, "p", "s", NULL, 0, base);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 4, "p", NULL, on_restore, &r), 0);
  assert_int_equal(r.n, 1);
  assert_non_null(strstr(r.pk[0], "missed"));
  persist(st, &LIM, 5, "p", "s", NULL, 0, base);
  memset(&r, 0, sizeof r);
  assert_int_equal(sio__sstore_restore(st, &LIM, 6, "p", early, on_restore, &r), 0);
  assert_int_equal(r.n, 1); /* not "before-it-connected" */
  assert_non_null(strstr(r.pk[0], "missed"));
  sio__sstore_free(st);
}

/* #5282: the packet of the client's offset expired and was swept, nothing after it was: the
 * session is restored (with nothing, then with what came later). A missed packet that was
 * swept (a gap) refuses the restore. */
static void test_swept_offset_and_gap(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX], o1[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  add(st, &LIM, 0, "long-ago", NULL, 0, NULL, 0, o1);
  sio__sstore_sweep(st, &LIM, 5000); /* window 1000: swept */
  assert_int_equal(sio__sstore_packets(st), 0);
  persist(st, &LIM, 5000, "p", "s", NULL, 0, base);
  add(st, &LIM, 5100, "later", NULL, 0, NULL, 0, NULL);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 5200, "p", o1, on_restore, &r), 0);
  assert_int_equal(r.n, 1);
  assert_non_null(strstr(r.pk[0], "later"));
  /* the same client without its offset would have missed "long-ago" (swept): refused */
  persist(st, &LIM, 5300, "p", "s", NULL, 0, base);
  assert_int_equal(sio__sstore_restore(st, &LIM, 5300, "p", NULL, on_restore, &r), SIO_ENOTFOUND);
  assert_int_equal(r.calls, 1);
  sio__sstore_free(st);
}

static void test_expired_session(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  persist(st, &LIM, 100, "p", "s", NULL, 0, base);
  persist(st, &LIM, 900, "q", "t", NULL, 0, base);
  assert_int_equal(sio__sstore_sessions(st), 2);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 1101, "p", NULL, on_restore, &r), SIO_ENOTFOUND);
  assert_int_equal(sio__sstore_sessions(st), 1); /* p swept, q still within its window */
  assert_int_equal(sio__sstore_restore(st, &LIM, 1101, "q", NULL, on_restore, &r), 0);
  assert_int_equal(r.calls, 1);
  sio__sstore_free(st);
}

static void test_forged_and_foreign_offsets(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/"), *other = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX], foreign[SIO__SSTORE_OFFSET_MAX], o1[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  add(st, &LIM, 1, "a", NULL, 0, NULL, 0, o1);
  add(other, &LIM, 1, "x", NULL, 0, NULL, 0, foreign);
  char ahead[SIO__SSTORE_OFFSET_MAX];
  snprintf(ahead, sizeof ahead, "%.9s99", base);
  const char *bad[] = {foreign, ahead, "", "garbage", "0000000g-1", "12345678-", "12345678-01"};
  restored r = {0};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    persist(st, &LIM, 2, "p", "s", NULL, 0, base);
    assert_int_equal(sio__sstore_restore(st, &LIM, 3, "p", bad[i], on_restore, &r), SIO_ENOTFOUND);
  }
  assert_int_equal(r.calls, 0);
  assert_int_equal(sio__sstore_sessions(st), 0); /* each refused one is forgotten */
  sio__sstore_free(st);
  sio__sstore_free(other);
}

static int warnings;
static char last_warning[512];
static void sink(sio_log_level level, const char *line, void *user) {
  (void)user;
  if (level != SIO_LOG_WARN) return;
  warnings++;
  snprintf(last_warning, sizeof last_warning, "%s", line);
}

static void test_caps_logged_once(void **state) {
  (void)state;
  sio_log_set_sink(sink, NULL);
  warnings = 0;
  sio__sstore_limits l = {100000, 5, 3};
  sio__sstore *st = sio__sstore_new("/chat");
  char base[SIO__SSTORE_OFFSET_MAX], o[20][SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  for (int i = 0; i < 20; i++) {
    char t[8];
    snprintf(t, sizeof t, "m%d", i);
    add(st, &l, 1, t, NULL, 0, NULL, 0, o[i]);
  }
  assert_int_equal(sio__sstore_packets(st), 5);
  assert_int_equal(warnings, 1);
  assert_non_null(strstr(last_warning, "/chat"));
  assert_non_null(strstr(last_warning, "max_packets"));
  /* a session that saw m14 gets m15..m19; one that saw m13 missed m14 (dropped): refused */
  restored r = {0};
  persist(st, &l, 2, "a", "s", NULL, 0, base);
  assert_int_equal(sio__sstore_restore(st, &l, 3, "a", o[14], on_restore, &r), 0);
  assert_int_equal(r.n, 5);
  expect_pk(r.pk[0], "m15", o[15]);
  persist(st, &l, 2, "b", "s", NULL, 0, base);
  assert_int_equal(sio__sstore_restore(st, &l, 3, "b", o[13], on_restore, &r), SIO_ENOTFOUND);
  /* sessions: at most 3, the oldest go, one warning */
  const char *pids[] = {"p1", "p2", "p3", "p4", "p5"};
  for (int i = 0; i < 5; i++) persist(st, &l, 10 + (uint64_t)i, pids[i], "s", NULL, 0, base);
  assert_int_equal(sio__sstore_sessions(st), 3);
  assert_int_equal(warnings, 2);
  assert_non_null(strstr(last_warning, "max_sessions"));
  assert_int_equal(sio__sstore_restore(st, &l, 20, "p1", NULL, on_restore, &r), SIO_ENOTFOUND);
  sio__sstore_free(st);
  sio_log_set_sink(NULL, NULL);
}

/* Binary attachments are kept with the packet and handed back. */
static void test_attachments(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  char base[SIO__SSTORE_OFFSET_MAX], off[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, base);
  const char data[] = "[\"bin\",{\"_placeholder\":true,\"num\":0}]";
  const unsigned char bytes[] = {1, 2, 3};
  const void *att[] = {bytes};
  size_t att_len[] = {3};
  sio_nsp fake;
  memset(&fake, 0, sizeof fake);
  fake.name = "/";
  fake.name_len = 1;
  sio__out out;
  assert_int_equal(sio__out_from_data(&out, &fake, data, sizeof data - 1, att, att_len, 1), 0);
  sio_packet p;
  sio__packet_of_out(&p, &fake, &out);
  sio_bcast_opts o = {NULL, 0, NULL, 0, 0, 0};
  int n = sio__sstore_add(st, &LIM, 1, &p, &o, off);
  assert_int_equal(n, (int)strlen(off));
  sio__out_release(&out);
  persist(st, &LIM, 2, "p", "s", NULL, 0, base);
  restored r = {0};
  assert_int_equal(sio__sstore_restore(st, &LIM, 3, "p", NULL, on_restore, &r), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.natt[0], 1);
  sio__sstore_free(st);
}

/* The byte ring: packets of many sizes wrap around its end (fillers), a large one makes it grow
 * while it wraps, and a restore hands back exactly the packets kept, in order, attachments
 * included, even when its callback stores more packets (which moves the ring's records). */
typedef struct ring_check {
  sio__sstore *st;
  uint64_t first; /* the seq of the first packet expected */
  size_t n;
  int bin_seen;
} ring_check;

static const char *ring_text(uint64_t i, char *buf, size_t cap) {
  size_t len = (size_t)(i * 7 % 90) + 1;
  if (i == 990) len = 9000; /* larger than the ring's first size: it grows */
  if (len + 1 > cap) len = cap - 1;
  for (size_t k = 0; k < len; k++) buf[k] = (char)('a' + (i + k) % 26);
  buf[len] = '\0';
  return buf;
}

static void on_ring_restore(int status, const sio_session *s, const sio_missed_packet *pk, size_t n,
                            void *user) {
  ring_check *rc = user;
  (void)s;
  assert_int_equal(status, 0);
  rc->n = n;
  static char text[9100], want[9300];
  for (size_t i = 0; i < n; i++) { /* stores meanwhile: the packets handed over must hold */
    sio_packet p = {"/", "[\"x\"]", 5, NULL, NULL};
    sio_bcast_opts o = {NULL, 0, NULL, 0, 0, 0};
    char off[SIO__SSTORE_OFFSET_MAX];
    sio__sstore_limits big = {1000, 100000, 10};
    for (int k = 0; k < 50; k++) assert_true(sio__sstore_add(rc->st, &big, 5, &p, &o, off) > 0);
  }
  char prefix[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(rc->st, prefix);
  *strchr(prefix, '-') = '\0';
  for (size_t i = 0; i < n; i++) {
    uint64_t seq = rc->first + i;
    if (seq % 50 == 0) { /* the binary ones */
      snprintf(want, sizeof want, "[\"bin\",{\"_placeholder\":true,\"num\":0},\"%s-%llu\"]", prefix,
               (unsigned long long)seq);
      assert_int_equal(pk[i].natt, 1);
      assert_int_equal(pk[i].att_len[0], 4);
      assert_memory_equal(pk[i].att[0], &seq, 4);
      rc->bin_seen++;
    } else {
      snprintf(want, sizeof want, "[\"ev\",\"%s\",\"%s-%llu\"]", ring_text(seq, text, sizeof text),
               prefix, (unsigned long long)seq);
      assert_int_equal(pk[i].natt, 0);
    }
    assert_int_equal(pk[i].len, strlen(want));
    assert_memory_equal(pk[i].data, want, pk[i].len);
  }
}

static void test_ring_wraps_and_grows(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  const sio__sstore_limits lim = {1000, 40, 10};
  static char text[9100], data[9200];
  char off[SIO__SSTORE_OFFSET_MAX], at960[SIO__SSTORE_OFFSET_MAX] = "";
  const char *room[] = {"r"};
  sio_nsp fake;
  memset(&fake, 0, sizeof fake);
  fake.name = "/";
  fake.name_len = 1;
  for (uint64_t i = 1; i <= 1000; i++) {
    sio_packet p = {"/", data, 0, NULL, NULL};
    sio__out out;
    memset(&out, 0, sizeof out);
    if (i % 50 == 0) {
      const char bin[] = "[\"bin\",{\"_placeholder\":true,\"num\":0}]";
      uint32_t tag = (uint32_t)i;
      const void *att[] = {&tag};
      size_t att_len[] = {4};
      assert_int_equal(sio__out_from_data(&out, &fake, bin, sizeof bin - 1, att, att_len, 1), 0);
      sio__packet_of_out(&p, &fake, &out);
    } else {
      snprintf(data, sizeof data, "[\"ev\",\"%s\"]", ring_text(i, text, sizeof text));
      p.len = strlen(data);
    }
    sio_bcast_opts o = {room, i % 3 == 0, NULL, 0, 0, 0};
    assert_true(sio__sstore_add(st, &lim, 1, &p, &o, off) > 0);
    sio__out_release(&out);
    if (i == 960) snprintf(at960, sizeof at960, "%s", off);
    assert_int_equal(sio__sstore_packets(st), i < 40 ? i : 40);
  }
  const char *rooms[] = {"r"};
  persist(st, &lim, 2, "p", "s", rooms, 1, at960);
  ring_check rc = {st, 961, 0, 0};
  assert_int_equal(sio__sstore_restore(st, &lim, 3, "p", NULL, on_ring_restore, &rc), 0);
  assert_int_equal(rc.n, 40);
  assert_int_equal(rc.bin_seen, 1); /* 1000 */
  /* one packet too far back: refused (a gap), never a partial replay */
  char first[SIO__SSTORE_OFFSET_MAX];
  snprintf(first, sizeof first, "%s", at960);
  *strrchr(first, '-') = '\0';
  snprintf(first + strlen(first), sizeof first - strlen(first), "-%d", 959);
  persist(st, &lim, 4, "q", "t", NULL, 0, first);
  assert_int_equal(sio__sstore_restore(st, &lim, 4, "q", NULL, on_ring_restore, &rc),
                   SIO_ENOTFOUND);
  sio__sstore_free(st);
}

/* The in-memory adapter's seam: nothing while recovery is off; with it, a broadcast flagged
 * SIO_BC_STORE gets an offset before its recipients are called. */
static void test_memory_adapter_ops(void **state) {
  (void)state;
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  assert_non_null(a->ops->persist_session);
  assert_non_null(a->ops->restore_session);
  char buf[64];
  assert_int_equal(a->ops->last_offset(a, buf, sizeof buf), 0);
  assert_string_equal(buf, ""); /* off */
  sio_session s = {"p", "s", NULL, 0, "{}", ""};
  assert_int_equal(a->ops->persist_session(a, &s), SIO_ENOTFOUND);
  sio_recovery_opts ro = sio_recovery_opts_default();
  a->recovery = &ro;
  assert_int_equal(a->ops->last_offset(a, buf, sizeof buf), 0);
  assert_int_equal(strlen(buf), 10);
  assert_int_equal(a->ops->last_offset(a, buf, 4), -ENOBUFS);
  const char data[] = "[\"ev\",1]";
  sio__offset off = {"", 0};
  sio_packet p = {"/", data, sizeof data - 1, NULL, &off};
  sio_bcast_opts o = {NULL, 0, NULL, 0, SIO_BC_STORE, 0};
  assert_int_equal(a->ops->broadcast(a, &p, &o, NULL, NULL, NULL), 0);
  assert_int_equal(off.len, 10);
  assert_memory_equal(off.text, buf, 9);
  assert_int_equal(off.text[9], '1');
  assert_int_equal(a->ops->persist_session(a, &s), 0);
  a->ops->destroy(a);
}

/* store_emit (a socket.emit with recovery on): stored with the next offset, the namespace
 * sending it; refused with 0 (nothing stored) when a real room named after the socket holds
 * another member, so that the namespace broadcasts to that room as Node does. */
static sio_member store_emit_members[2];

static sio_member *store_emit_lookup(sio_nsp *nsp, const char *id) {
  (void)nsp;
  for (int i = 0; i < 2; i++)
    if (!strcmp(store_emit_members[i].id, id)) return &store_emit_members[i];
  return NULL;
}

static void test_memory_store_emit(void **state) {
  (void)state;
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  sio_recovery_opts ro = sio_recovery_opts_default();
  a->recovery = &ro;
  a->lookup = store_emit_lookup; /* as the namespace sets it: own rooms are implicit */
  assert_non_null(a->ops->store_emit);
  sio_member *mm = store_emit_members;
  memset(mm, 0, 2 * sizeof *mm);
  mm[0].id = "sidA";
  mm[1].id = "sidB";
  sio_member *m = &mm[0], *other = &mm[1];
  const char *own_a[] = {"sidA"}, *own_b[] = {"sidB"};
  assert_int_equal(a->ops->add_all(a, m, own_a, 1), 0);
  assert_int_equal(a->ops->add_all(a, other, own_b, 1), 0);
  const char data[] = "[\"ev\",1]";
  sio_packet p = {"/", data, sizeof data - 1, NULL, NULL};
  char off[64], last[64];
  int n = a->ops->store_emit(a, &p, m, SIO_BC_STORE, off, sizeof off);
  assert_int_equal(n, 10);
  assert_int_equal(a->ops->last_offset(a, last, sizeof last), 0);
  assert_string_equal(off, last);
  assert_int_equal(a->ops->store_emit(a, &p, m, SIO_BC_STORE, off, 4), -ENOBUFS);
  /* sidB joins a room named "sidA": the emit must reach it too, through broadcast */
  assert_int_equal(a->ops->add_all(a, other, own_a, 1), 0);
  assert_int_equal(a->ops->last_offset(a, last, sizeof last), 0);
  assert_int_equal(a->ops->store_emit(a, &p, m, SIO_BC_STORE, off, sizeof off), 0);
  char after[64];
  assert_int_equal(a->ops->last_offset(a, after, sizeof after), 0);
  assert_string_equal(after, last); /* nothing stored */
  a->ops->destroy(a);
}

/* Offsets are "<8 lower-case hex digits>-<seq>", seq 1, 2, … in decimal without leading zeros
 * across every carry (9 -> 10, 99 -> 100, 999 -> 1000), the same epoch throughout, and
 * sio__sstore_last is the newest. */
static void test_offset_format(void **state) {
  (void)state;
  sio__sstore *st = sio__sstore_new("/");
  sio__sstore_limits l = {1000, 2000, 10};
  char off[SIO__SSTORE_OFFSET_MAX], last[SIO__SSTORE_OFFSET_MAX], first[SIO__SSTORE_OFFSET_MAX];
  sio__sstore_last(st, last);
  assert_int_equal(strlen(last), 10);
  assert_string_equal(last + 8, "-0");
  for (unsigned seq = 1; seq <= 1001; seq++) {
    add(st, &l, 1, "x", NULL, 0, NULL, 0, off);
    if (seq == 1) memcpy(first, off, sizeof off);
    char want[32];
    snprintf(want, sizeof want, "%.9s%u", first, seq);
    assert_string_equal(off, want);
    sio__sstore_last(st, last);
    assert_string_equal(last, off);
  }
  for (int i = 0; i < 8; i++) assert_non_null(strchr("0123456789abcdef", first[i]));
  assert_memory_equal(first, last, 9);
  sio__sstore_free(st);
}

/* The offset appended to an encoded packet: written over its closing bracket when the text is
 * not shared (in the allocation's room, or grown), the WebSocket header made again for the new
 * length (a payload that crosses 125 bytes gets the 2-byte extended length); a shared text is
 * left alone for its other holder and replaced by a copy. */
static void check_framed(const sio__out *o, const char *want) {
  const sio__buf *b = o->text.b;
  size_t n = strlen(want);
  assert_int_equal(b->len - o->text.data_off, n);
  assert_memory_equal(b->data + o->text.data_off, want, n);
  assert_int_equal(b->data[b->len], '\0');
  const unsigned char *h = (const unsigned char *)b->data + o->text.frame_off;
  assert_int_equal(h[0], 0x81); /* FIN, text */
  if (n < 126) {
    assert_int_equal(o->text.frame_off, SIO__WS_HEADROOM - 2);
    assert_int_equal(h[1], n);
  } else {
    assert_int_equal(o->text.frame_off, SIO__WS_HEADROOM - 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], n);
  }
}

static void test_out_add_offset(void **state) {
  (void)state;
  sio_nsp fake;
  memset(&fake, 0, sizeof fake);
  fake.name = "/";
  fake.name_len = 1;
  sio__offset off = {"0badcafe-7", 10};
  /* small: in the room the packet was allocated with */
  sio__out o;
  assert_int_equal(sio__out_from_data(&o, &fake, "[\"e\",1]", 7, NULL, NULL, 0), 0);
  assert_int_equal(sio__out_add_offset(&o, &off), 0);
  check_framed(&o, "42[\"e\",1,\"0badcafe-7\"]");
  sio__out_release(&o);
  /* 118 bytes of data array, 131 with the offset: grown, a 4-byte header now; the first
   * packet's buffer is shared (queued for a client): copied, the other holder's unchanged */
  char data[119], want[160];
  memset(data, 'x', sizeof data);
  memcpy(data, "[\"", 2);
  memcpy(data + 116, "\"]", 3);
  assert_int_equal(sio__out_from_data(&o, &fake, data, 118, NULL, NULL, 0), 0);
  sio__buf *held = sio__buf_ref(o.text.b);
  size_t held_len = held->len;
  assert_int_equal(sio__out_add_offset(&o, &off), 0);
  assert_ptr_not_equal(o.text.b, held);
  assert_int_equal(held->len, held_len);
  assert_int_equal(held->data[held_len - 1], ']');
  snprintf(want, sizeof want, "42%.117s,\"0badcafe-7\"]", data);
  check_framed(&o, want);
  sio__buf_unref(held);
  sio__out_release(&o);
  assert_int_equal(sio__out_from_data(&o, &fake, data, 118, NULL, NULL, 0), 0);
  assert_int_equal(sio__out_add_offset(&o, &off), 0); /* not shared: grown in place */
  check_framed(&o, want);
  sio__out_release(&o);
  /* not a data array: refused, unchanged */
  assert_int_equal(sio__out_from_data(&o, &fake, "[\"e\"", 4, NULL, NULL, 0), 0);
  assert_int_equal(sio__out_add_offset(&o, &off), -EINVAL);
  sio__out_release(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_offsets_and_restore_in_order),
      cmocka_unit_test(test_rooms_and_except),
      cmocka_unit_test(test_no_offset_and_old_offset),
      cmocka_unit_test(test_swept_offset_and_gap),
      cmocka_unit_test(test_expired_session),
      cmocka_unit_test(test_forged_and_foreign_offsets),
      cmocka_unit_test(test_caps_logged_once),
      cmocka_unit_test(test_attachments),
      cmocka_unit_test(test_ring_wraps_and_grows),
      cmocka_unit_test(test_memory_adapter_ops),
      cmocka_unit_test(test_memory_store_emit),
      cmocka_unit_test(test_out_add_offset),
      cmocka_unit_test(test_offset_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
