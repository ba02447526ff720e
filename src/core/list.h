/* Intrusive circular doubly linked list (as in the Linux kernel and libuv's queue): the node
 * lives inside the element, so linking costs no allocation. */
#ifndef SIO_CORE_LIST_H
#define SIO_CORE_LIST_H
#include <stddef.h>

typedef struct sio__list {
  struct sio__list *next, *prev;
} sio__list;

#define sio__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void sio__list_init(sio__list *h) {
  h->next = h->prev = h;
}
static inline int sio__list_empty(const sio__list *h) {
  return h->next == h;
}
static inline int sio__list_linked(const sio__list *n) {
  return n->next && n->next != n;
}

static inline void sio__list_insert_tail(sio__list *h, sio__list *n) {
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

static inline void sio__list_remove(sio__list *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}

/* Moves every element of `from` onto `to` (which must be empty) and leaves `from` empty: a
 * list can then be walked while callbacks add to the original. */
static inline void sio__list_move_all(sio__list *to, sio__list *from) {
  sio__list_init(to);
  if (sio__list_empty(from)) return;
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  sio__list_init(from);
}

#define sio__list_foreach(pos, head)                                                               \
  for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
/* Safe against removal of `pos` inside the loop. */
#define sio__list_foreach_safe(pos, tmp, head)                                                     \
  for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                                 \
       (pos) = (tmp), (tmp) = (pos)->next)

#endif
