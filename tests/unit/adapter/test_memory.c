/* Unit tests for the in-memory adapter, through the public seam (sio/adapter.h) only (plus
 * core/alloc.h for allocation failures): rooms as pointer sets, union/except selection with
 * each recipient once, removal during selection, allocation failures, and the cluster
 * operations of a single node (server count 1, nothing remote). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "sio/adapter.h"

#define N 8
static sio_member ms[N];
static char ids[N][8];

static void setup_members(sio_adapter *a) {
  memset(ms, 0, sizeof(ms));
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof(ids[i]), "s%d", i);
    ms[i].id = ids[i];
    const char *own[] = {ids[i]};
    assert_int_equal(a->ops->add_all(a, &ms[i], own, 1), 0);
  }
}

static int hits[N];
static void count_fn(sio_member *m, void *ctx) {
  (void)ctx;
  hits[m - ms]++;
}

static long sel(sio_adapter *a, const char **rooms, size_t nr, const char **ex, size_t ne) {
  memset(hits, 0, sizeof(hits));
  sio_bcast_opts o = {rooms, nr, ex, ne, 0, 0};
  return a->ops->broadcast(a, NULL, &o, count_fn, NULL, NULL);
}

static void test_rooms_union_except(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  setup_members(a);
  const char *r1[] = {"a"}, *r2[] = {"b"};
  for (int i = 0; i < 5; i++) assert_int_equal(a->ops->add_all(a, &ms[i], r1, 1), 0);
  for (int i = 3; i < 7; i++) assert_int_equal(a->ops->add_all(a, &ms[i], r2, 1), 0);
  assert_int_equal(a->ops->add_all(a, &ms[0], r1, 1), 0); /* twice: no-op */
  assert_int_equal(a->ops->room_size(a, "a"), 5);
  assert_int_equal(a->ops->room_size(a, "b"), 4);
  assert_int_equal(a->ops->count(a), N);
  assert_true(a->ops->has(a, &ms[3], "a"));
  assert_false(a->ops->has(a, &ms[7], "a"));

  /* everyone */
  assert_int_equal(sel(a, NULL, 0, NULL, 0), N);
  for (int i = 0; i < N; i++) assert_int_equal(hits[i], 1);
  /* union: each once */
  const char *ab[] = {"a", "b", "a"};
  assert_int_equal(sel(a, ab, 3, NULL, 0), 7);
  for (int i = 0; i < 7; i++) assert_int_equal(hits[i], 1);
  assert_int_equal(hits[7], 0);
  /* except */
  const char *exb[] = {"b"};
  assert_int_equal(sel(a, r1, 1, exb, 1), 3);
  assert_int_equal(hits[0] + hits[1] + hits[2], 3);
  /* broadcast from a socket: everyone but its own room */
  const char *exs[] = {"s2"};
  assert_int_equal(sel(a, NULL, 0, exs, 1), N - 1);
  assert_int_equal(hits[2], 0);
  /* unknown room */
  const char *none[] = {"zz"};
  assert_int_equal(sel(a, none, 1, NULL, 0), 0);

  /* leave */
  assert_int_equal(a->ops->del(a, &ms[3], "a"), 0);
  assert_int_equal(a->ops->del(a, &ms[3], "a"), SIO_ENOTFOUND);
  assert_int_equal(a->ops->room_size(a, "a"), 4);
  assert_int_equal(sel(a, r1, 1, NULL, 0), 4);
  assert_int_equal(hits[3], 0);
  /* the room disappears when empty */
  for (int i = 3; i < 7; i++) a->ops->del(a, &ms[i], "b");
  assert_int_equal(a->ops->room_size(a, "b"), 0);
  assert_int_equal(sel(a, r2, 1, NULL, 0), 0);

  for (int i = 0; i < N; i++) a->ops->del_all(a, &ms[i]);
  assert_int_equal(a->ops->count(a), 0);
  assert_int_equal(a->ops->room_size(a, "a"), 0);
  a->ops->destroy(a);
}

static int collect_room(const char *room, size_t len, void *ctx) {
  char *out = ctx;
  strncat(out, room, len);
  strcat(out, ",");
  return 0;
}

static void test_rooms_of(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  setup_members(a);
  const char *rs[] = {"x", "y"};
  assert_int_equal(a->ops->add_all(a, &ms[1], rs, 2), 0);
  char buf[64] = "";
  a->ops->rooms_of(a, &ms[1], collect_room, buf);
  assert_string_equal(buf, "s1,x,y,");
  a->ops->del(a, &ms[1], "s1");
  buf[0] = 0;
  a->ops->rooms_of(a, &ms[1], collect_room, buf);
  assert_int_equal(strlen(buf), 4); /* y,x, or x,y, */
  a->ops->destroy(a);
}

/* A callback that removes members (a send failure disconnecting its client) while the
 * selection runs: the collected list stays valid. */
static sio_adapter *g_a;
static void removing_fn(sio_member *m, void *ctx) {
  (void)ctx;
  hits[m - ms]++;
  int next = (int)(m - ms) + 1;
  if (next < N) g_a->ops->del_all(g_a, &ms[next]); /* twice is harmless */
  /* nested selection uses its own array */
  sio_bcast_opts o = {0};
  long n = g_a->ops->select(g_a, &o, count_fn, NULL);
  assert_true(n >= 0);
}

static void test_remove_during_select(void **state) {
  sio_adapter *a = g_a = sio_memory_adapter_new(NULL, NULL);
  setup_members(a);
  memset(hits, 0, sizeof(hits));
  sio_bcast_opts o = {0};
  assert_int_equal(a->ops->select(a, &o, removing_fn, NULL), N);
  for (int i = 0; i < N; i++) a->ops->del_all(a, &ms[i]);
  a->ops->destroy(a);
}

static void count_big(sio_member *m, void *ctx) {
  (void)m;
  (void)ctx;
}

static void test_many(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  enum { M = 2000 };
  static sio_member big[M];
  memset(big, 0, sizeof(big));
  const char *even[] = {"even"}, *all[] = {"all"};
  for (int i = 0; i < M; i++) {
    assert_int_equal(a->ops->add_all(a, &big[i], all, 1), 0);
    if (i % 2 == 0) assert_int_equal(a->ops->add_all(a, &big[i], even, 1), 0);
  }
  for (int i = 0; i < M; i += 4) a->ops->del(a, &big[i], "all");
  assert_int_equal(a->ops->room_size(a, "all"), M - M / 4);
  const char *both[] = {"all", "even"};
  sio_bcast_opts o = {both, 2, NULL, 0, 0, 0};
  assert_int_equal(a->ops->select(a, &o, count_big, NULL), M);
  for (int i = 0; i < M; i++) a->ops->del_all(a, &big[i]);
  a->ops->destroy(a);
}

static void test_oom(void **state) {
  for (long k = 0; k < 12; k++) {
    sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
    if (!a) continue;
    sio_member m[3];
    memset(m, 0, sizeof(m));
    const char *rs[] = {"r1", "r2", "r3"};
    sio__alloc_fail_after(k);
    for (int i = 0; i < 3; i++) (void)a->ops->add_all(a, &m[i], rs, 3);
    sio_bcast_opts o = {rs, 3, NULL, 0, 0, 0};
    memset(hits, 0, sizeof(hits));
    (void)a->ops->select(a, &o, count_fn, NULL);
    sio__alloc_fail_reset();
    for (int i = 0; i < 3; i++) a->ops->del_all(a, &m[i]);
    a->ops->destroy(a);
  }
  assert_int_equal(sio__alloc_live(), 0);
}

/* With the namespace's id lookup, own rooms are implicit (no room object). */
static sio_member *lookup(sio_nsp *nsp, const char *id) {
  (void)nsp;
  for (int i = 0; i < N; i++)
    if (strcmp(ids[i], id) == 0) return &ms[i];
  return NULL;
}

static void test_own_room_implicit(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  a->lookup = lookup;
  long live = sio__alloc_live();
  setup_members(a);
  assert_true(ms[3].own);
  assert_int_equal(ms[3].nrooms, 0);
  assert_true(a->ops->has(a, &ms[3], "s3"));
  assert_int_equal(a->ops->room_size(a, "s3"), 1);
  const char *r3[] = {"s3"}, *r3b[] = {"s3", "s4", "s3"};
  assert_int_equal(sel(a, r3, 1, NULL, 0), 1);
  assert_int_equal(hits[3], 1);
  assert_int_equal(sel(a, r3b, 3, NULL, 0), 2);
  assert_int_equal(sel(a, NULL, 0, r3, 1), N - 1); /* broadcast from s3 */
  assert_int_equal(hits[3], 0);
  /* another socket joining a room named after s3: both are in it */
  const char *name[] = {"s3"};
  assert_int_equal(a->ops->add_all(a, &ms[5], name, 1), 0);
  assert_int_equal(sel(a, r3, 1, NULL, 0), 2);
  assert_int_equal(hits[3] + hits[5], 2);
  assert_int_equal(a->ops->room_size(a, "s3"), 2);
  char buf[64] = "";
  a->ops->rooms_of(a, &ms[3], collect_room, buf);
  assert_string_equal(buf, "s3,");
  assert_int_equal(a->ops->del(a, &ms[3], "s3"), 0);
  assert_false(ms[3].own);
  assert_int_equal(a->ops->del(a, &ms[3], "s3"), SIO_ENOTFOUND);
  for (int i = 0; i < N; i++) a->ops->del_all(a, &ms[i]);
  a->ops->destroy(a);
  (void)live;
}

static char names_seen[256];
static int names_status = -1;
static void on_names(int status, const char *const *names, size_t n, void *user) {
  names_status = status;
  names_seen[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    strcat(names_seen, names[i]);
    strcat(names_seen, ",");
  }
  (*(int *)user)++;
}

static void test_all_rooms(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  a->lookup = lookup;
  setup_members(a);
  const char *x[] = {"x"};
  assert_int_equal(a->ops->add_all(a, &ms[1], x, 1), 0);
  assert_int_equal(a->ops->add_all(a, &ms[2], x, 1), 0);
  a->ops->del(a, &ms[0], "s0"); /* left its own room */
  int calls = 0;
  assert_int_equal(a->ops->all_rooms(a, 0, on_names, &calls), 0);
  assert_int_equal(calls, 1);
  assert_int_equal(names_status, 0);
  assert_string_equal(names_seen, "s1,s2,s3,s4,s5,s6,s7,x,"); /* own rooms first, each once */
  char buf[128] = "";
  a->ops->rooms(a, collect_room, buf);
  assert_string_equal(buf, "s1,s2,s3,s4,s5,s6,s7,x,");
  for (int i = 0; i < N; i++) a->ops->del_all(a, &ms[i]);
  a->ops->destroy(a);
}

static size_t count_seen;
static void on_count(int status, size_t n, void *user) {
  assert_int_equal(status, 0);
  count_seen = n;
  (*(int *)user)++;
}
static void on_remote(int status, const sio_remote_socket *v, size_t n, void *user) {
  assert_int_equal(status, 0);
  assert_int_equal(n, 0);
  (*(int *)user)++;
}
static void on_server_acks(int status, const char *const *answers, size_t n, void *user) {
  assert_int_equal(status, 0);
  assert_int_equal(n, 0);
  (*(int *)user)++;
}

/* One node: the cluster is this server. */
static void test_single_node_cluster(void **state) {
  sio_adapter *a = sio_memory_adapter_new(NULL, NULL);
  int calls = 0;
  assert_int_equal(a->ops->server_count(a, on_count, &calls), 0);
  assert_int_equal(count_seen, 1);
  sio_bcast_opts o = {0};
  assert_int_equal(a->ops->fetch_sockets(a, &o, on_remote, &calls), 0);
  assert_int_equal(a->ops->server_side_emit(a, NULL, 0, NULL, NULL), 0);
  assert_int_equal(a->ops->server_side_emit(a, NULL, 1000, on_server_acks, &calls), 0);
  const char *r[] = {"room"};
  assert_int_equal(a->ops->add_sockets(a, &o, r, 1), 0);
  assert_int_equal(a->ops->del_sockets(a, &o, r, 1), 0);
  assert_int_equal(a->ops->disconnect_sockets(a, &o, 1), 0);
  assert_int_equal(calls, 3);
  assert_string_equal(a->ops->name, "memory");
  a->ops->destroy(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rooms_union_except),
      cmocka_unit_test(test_rooms_of),
      cmocka_unit_test(test_remove_during_select),
      cmocka_unit_test(test_many),
      cmocka_unit_test(test_oom),
      cmocka_unit_test(test_own_room_implicit),
      cmocka_unit_test(test_all_rooms),
      cmocka_unit_test(test_single_node_cluster),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
