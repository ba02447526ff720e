/* Unit tests for the in-memory adapter: rooms as pointer sets, union/except selection with
 * each recipient once, removal during selection, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "adapter/adapter.h"
#include "core/alloc.h"
#include "sio/core.h"

#define N 8
static sio__member ms[N];
static char ids[N][8];

static void setup_members(sio__adapter *a) {
  memset(ms, 0, sizeof(ms));
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof(ids[i]), "s%d", i);
    ms[i].id = ids[i];
    const char *own[] = {ids[i]};
    assert_int_equal(a->ops->add_all(a, &ms[i], own, 1), 0);
  }
}

static int hits[N];
static void count_fn(sio__member *m, void *ctx) {
  (void)ctx;
  hits[m - ms]++;
}

static long sel(sio__adapter *a, const char **rooms, size_t nr, const char **ex, size_t ne) {
  memset(hits, 0, sizeof(hits));
  sio__bcast_opts o = {rooms, nr, ex, ne, 0, NULL};
  return a->ops->broadcast(a, &o, count_fn, NULL);
}

static void test_rooms_union_except(void **state) {
  sio__adapter *a = sio__memory_adapter_new(NULL, NULL);
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
  sio__adapter *a = sio__memory_adapter_new(NULL, NULL);
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
static sio__adapter *g_a;
static void removing_fn(sio__member *m, void *ctx) {
  (void)ctx;
  hits[m - ms]++;
  int next = (int)(m - ms) + 1;
  if (next < N && ms[next].slot != UINT32_MAX) g_a->ops->del_all(g_a, &ms[next]);
  /* nested selection uses its own array */
  sio__bcast_opts o = {0};
  long n = g_a->ops->select(g_a, &o, count_fn, NULL);
  assert_true(n >= 0);
}

static void test_remove_during_select(void **state) {
  sio__adapter *a = g_a = sio__memory_adapter_new(NULL, NULL);
  setup_members(a);
  memset(hits, 0, sizeof(hits));
  sio__bcast_opts o = {0};
  assert_int_equal(a->ops->select(a, &o, removing_fn, NULL), N);
  for (int i = 0; i < N; i++) a->ops->del_all(a, &ms[i]);
  a->ops->destroy(a);
}

static void count_big(sio__member *m, void *ctx) {
  (void)m;
  (void)ctx;
}

static void test_many(void **state) {
  sio__adapter *a = sio__memory_adapter_new(NULL, NULL);
  enum { M = 2000 };
  static sio__member big[M];
  memset(big, 0, sizeof(big));
  const char *even[] = {"even"}, *all[] = {"all"};
  for (int i = 0; i < M; i++) {
    assert_int_equal(a->ops->add_all(a, &big[i], all, 1), 0);
    if (i % 2 == 0) assert_int_equal(a->ops->add_all(a, &big[i], even, 1), 0);
  }
  for (int i = 0; i < M; i += 4) a->ops->del(a, &big[i], "all");
  assert_int_equal(a->ops->room_size(a, "all"), M - M / 4);
  const char *both[] = {"all", "even"};
  sio__bcast_opts o = {both, 2, NULL, 0, 0, NULL};
  assert_int_equal(a->ops->select(a, &o, count_big, NULL), M);
  for (int i = 0; i < M; i++) a->ops->del_all(a, &big[i]);
  a->ops->destroy(a);
}

static void test_oom(void **state) {
  for (long k = 0; k < 12; k++) {
    sio__adapter *a = sio__memory_adapter_new(NULL, NULL);
    if (!a) continue;
    sio__member m[3];
    memset(m, 0, sizeof(m));
    const char *rs[] = {"r1", "r2", "r3"};
    sio__alloc_fail_after(k);
    for (int i = 0; i < 3; i++) (void)a->ops->add_all(a, &m[i], rs, 3);
    sio__bcast_opts o = {rs, 3, NULL, 0, 0, NULL};
    memset(hits, 0, sizeof(hits));
    (void)a->ops->select(a, &o, count_fn, NULL);
    sio__alloc_fail_reset();
    for (int i = 0; i < 3; i++) a->ops->del_all(a, &m[i]);
    a->ops->destroy(a);
  }
  assert_int_equal(sio__alloc_live(), 0);
}

/* With the namespace's id lookup, own rooms are implicit (no room object). */
static sio__member *lookup(void *nsp, const char *id) {
  (void)nsp;
  for (int i = 0; i < N; i++)
    if (strcmp(ids[i], id) == 0) return &ms[i];
  return NULL;
}

static void test_own_room_implicit(void **state) {
  sio__adapter *a = sio__memory_adapter_new(NULL, NULL);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rooms_union_except),
      cmocka_unit_test(test_rooms_of),
      cmocka_unit_test(test_remove_during_select),
      cmocka_unit_test(test_many),
      cmocka_unit_test(test_oom),
      cmocka_unit_test(test_own_room_implicit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
