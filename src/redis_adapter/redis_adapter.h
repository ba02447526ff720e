/* The classic Redis adapter (@socket.io/redis-adapter 8.3's RedisAdapter), internal shapes.
 *
 * sio_redis_adapter (one per server) owns the Redis link (redis_link.h) and lists the
 * namespace adapters it made. Each namespace adapter, sio__radapter, wraps the in-memory
 * adapter for rooms and local selection and adds the classic channel scheme:
 *   broadcasts  <key>#<nsp>#  and  <key>#<nsp>#<room>#  (one room), PSUBSCRIBE <key>#<nsp>#*
 *   requests    <key>-request#<nsp>#
 *   responses   <key>-response#<nsp>#  and  <key>-response#<nsp>#<uid>#
 * Files: redis_adapter.c (public calls, factory, rooms, broadcast out), redis_receive.c
 * (broadcasts and requests from other nodes, answered), redis_ask.c (our requests to the
 * others and their responses), redis_requests.c (pending requests), redis_link.c (Redis). */
#ifndef SIO_REDIS_ADAPTER_REDIS_ADAPTER_H
#define SIO_REDIS_ADAPTER_REDIS_ADAPTER_H
#include "redis_adapter/redis_link.h"
#include "redis_adapter/redis_requests.h"
#include "cluster/request.h"
#include "core/buf.h"
#include "sio/adapter.h"
#include "sio/redis.h"

struct sio_redis_adapter {
  sio__rlink *link;
  char *key;
  uint32_t requests_timeout_ms;
  int specific_response;
  sio__list nsps;               /* sio__radapter */
  int sharded;                  /* createShardedAdapter: sharded.h */
  int sub_mode;                 /* sharded: SIO__SUB_* */
  int noshard_logged;           /* sharded on a Redis < 7: said once */
  sio__list snsps;              /* sio__sadapter */
  struct sio__streams *streams; /* the Redis Streams adapter's readers (sharded.h), or NULL */
};

typedef struct sio__radapter {
  sio_adapter base;
  sio_adapter *mem;      /* rooms and local selection */
  sio_redis_adapter *ra; /* NULL once the server's adapter is freed: local only */
  sio__list link;        /* in ra->nsps */
  char uid[SIO__RREQ_ID_LEN + 1];
  const char *nsp_name;
  sio__sbuf channel;      /* <key>#<nsp># (the pattern is it + "*") */
  sio__sbuf req_channel;  /* <key>-request#<nsp># */
  sio__sbuf res_channel;  /* <key>-response#<nsp># */
  sio__sbuf res_specific; /* <key>-response#<nsp>#<uid># */
  sio__rlink_sub sub_bcast, sub_req, sub_res, sub_res_specific;
  sio__rlink_watch watch;
  sio__rreqs reqs;    /* our requests, pending */
  sio__rreqs serving; /* other nodes' broadcasts with acks, answered until their timeout */
} sio__radapter;

/* Request kinds (sio__rreq.type): our requests by their RequestType; what we serve: */
#define SIO__RADAPTER_SERVING 100

static inline sio_adapter *sio__radapter_mem(const sio_adapter *a) {
  return ((const sio__radapter *)a)->mem;
}

/* The socket.io flags object of o ({"volatile":true,"compress":false,"timeout":n}, members
 * present only when set) into out; and back (flags slice of a message; missing: compress). */
void sio__radapter_flags_json(sio__sbuf *out, const sio_bcast_opts *o, int with_timeout);
unsigned sio__radapter_flags_of(const char *text, sio__json_slice flags, uint32_t *timeout);
/* What a broadcast or a BROADCAST request carries (uid, nsp, rooms, except, flags, the data
 * and its attachments), for an encoder; x keeps the flags text and the attachment list. */
typedef struct sio__radapter_out {
  sio__redis_out m;
  sio__sbuf flags;
  sio__mp_bin *bins;
} sio__radapter_out;
int sio__radapter_out_init(sio__radapter_out *x, sio__radapter *r, const sio_packet *p,
                           const sio_bcast_opts *o, int with_timeout);
void sio__radapter_out_free(sio__radapter_out *x);
/* Rooms and except of a message as NUL-terminated strings in one buffer (numbers as JS
 * prints them); *v is allocated (free with sio__free), each entry pointing into sb. */
int sio__radapter_names(const char *text, sio__json_slice arr, sio__sbuf *sb, const char ***v,
                        size_t *n);
/* Publishes on a channel of this namespace (a no-op when detached from Redis). */
int sio__radapter_publish(sio__radapter *r, const sio__sbuf *channel, const sio__sbuf *payload);

/* redis_receive.c: the subscription handlers. */
void sio__radapter_on_broadcast(const sio__redis_message *m, void *user);
void sio__radapter_on_request(const sio__redis_message *m, void *user);
/* redis_ask.c: responses to our requests, and the sending side of the cluster ops. */
void sio__radapter_on_response(const sio__redis_message *m, void *user);
int sio__radapter_fetch_sockets(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                void *user);
int sio__radapter_add_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n);
int sio__radapter_del_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n);
int sio__radapter_disconnect_sockets(sio_adapter *a, const sio_bcast_opts *o, int close);
int sio__radapter_server_side_emit(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                                   sio_server_acks_fn fn, void *user);
int sio__radapter_server_count(sio_adapter *a, sio_count_fn fn, void *user);
int sio__radapter_all_rooms(sio_adapter *a, uint32_t timeout_ms, sio_names_fn fn, void *user);
/* redis_acks.c. A broadcast with acks: the BROADCAST request, its client counts and answers
 * into acks; a type 8 or 9 response (1 when it was one); another node's BROADCAST, delivered
 * here with the count and each answer sent back. */
int sio__radapter_ack_response(sio__radapter *r, const sio__redis_res *res);
void sio__radapter_serve_broadcast(sio__radapter *r, const sio__redis_req *q, const char *rid,
                                   const sio_bcast_opts *o);
/* The response channel an answer to q goes to (publishResponse). */
int sio__radapter_response_channel(sio__radapter *r, const sio__redis_req *q, sio__sbuf *ch);
int sio__radapter_broadcast_acks(sio__radapter *r, const sio_packet *p, const sio_bcast_opts *o,
                                 sio_bcast_acks *acks);

#endif
