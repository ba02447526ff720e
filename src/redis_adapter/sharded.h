/* The sharded Redis adapter (@socket.io/redis-adapter 8.3's createShardedAdapter, a
 * ClusterAdapter of socket.io-adapter 2.5 on Redis 7 sharded pub/sub), internal shapes.
 *
 * One sio__sadapter per namespace, made by sio_redis_adapter_factory when the server's adapter
 * was made with opts.sharded. It wraps the in-memory adapter for rooms and local selection and
 * speaks the ClusterAdapter messages (cluster/message.h, types 3-12) on:
 *   <key>#<nsp>#         every server's (SSUBSCRIBE), the cluster messages
 *   <key>#<nsp>#<uid>#   this server's responses (uid: 16 hex digits, as randomId())
 *   <key>#<nsp>#<room>#  a public room's broadcasts (subscription modes dynamic and
 *                        dynamic-private, subscribed while the room exists here)
 * The link and the pending requests are the classic adapter's (redis_link.h,
 * redis_requests.h). The Redis Streams adapter is the same ClusterAdapter: with ra->streams
 * set, the namespaces subscribe the two fixed channels with SUBSCRIBE (no room channels), publish
 * msgpack with PUBLISH, and what is not ephemeral goes to the namespace's stream by XADD
 * (streams_adapter.c), whose readers hand the entries to sio__sadapter_dispatch. Files:
 * sharded_adapter.c (factory, rooms and their channels, broadcast out, the dispatch of what comes
 * in), sharded_receive.c (other servers' messages, applied and answered), sharded_ask.c (our
 * requests and their responses). */
#ifndef SIO_REDIS_ADAPTER_SHARDED_H
#define SIO_REDIS_ADAPTER_SHARDED_H
#include "redis_adapter/redis_adapter.h"
#include "cluster/message.h"
#include "core/map.h"

#define SIO__SADAPTER_UID_LEN 16

enum { SIO__SUB_DYNAMIC = 0, SIO__SUB_STATIC = 1, SIO__SUB_DYNAMIC_PRIVATE = 2 };

/* Something of a streams namespace adapter that waits for Redis (in its `pending` list). */
typedef struct sio__spending {
  sio__list link;
  struct sio__sadapter *s;                 /* NULL once the namespace adapter went */
  void (*cancel)(struct sio__spending *p); /* the adapter goes (s already NULL); may be NULL */
} sio__spending;

typedef struct sio__sadapter {
  sio_adapter base;
  sio_adapter *mem;      /* rooms and local selection */
  sio_redis_adapter *ra; /* NULL once the server's adapter is freed: local only */
  sio__list link;        /* in ra->snsps */
  char uid[SIO__SADAPTER_UID_LEN + 1];
  const char *nsp_name;
  int mode;           /* SIO__SUB_* */
  sio__sbuf channel;  /* <key>#<nsp># */
  sio__sbuf response; /* <key>#<nsp>#<uid># */
  sio__sbuf stream;   /* streams: the stream this namespace writes to */
  sio__rlink_sub sub_main, sub_response;
  sio__map room_subs; /* room name -> sio__rlink_sub (dynamic modes) */
  sio__rlink_watch watch;
  sio__rreqs reqs;    /* our requests, pending */
  sio__rreqs serving; /* other servers' broadcasts with acks, answered until their timeout */
  /* streams, connection state recovery (streams_offsets.c, streams_session.c): */
  sio__list pending;   /* stored broadcasts waiting for their entry id, restores under way */
  sio__map restored;   /* socket id -> sio__stream_id its restore replayed up to */
  const char *cur_off; /* the id of the stream entry being dispatched (NULL: none) */
  size_t cur_off_len;
} sio__sadapter;

/* sharded_adapter.c */
sio_adapter *sio__sadapter_new(sio_nsp *nsp, sio_redis_adapter *ra);
void sio__sadapter_detach(sio__sadapter *s); /* the server's adapter is going */
/* "dynamic", "static", "dynamic-private" (NULL: dynamic) into SIO__SUB_*, or -EINVAL. */
int sio__sadapter_mode_of(const char *name);
/* SPUBLISH of an encoded message on the main channel, or on <channel><uid># (a response to
 * the server whose uid that is). A no-op when detached. */
int sio__sadapter_publish(sio__sadapter *s, const sio__cluster_out *m, const char *to_uid);
/* SPUBLISH of an encoded message on the main channel (SIO_ECLOSED when detached). */
int sio__sadapter_send(sio__sadapter *s, const sio__sbuf *msg);
/* The uid, nsp and flags of an outgoing message; flags is a buffer the caller frees. */
void sio__sadapter_out_init(sio__sadapter *s, sio__cluster_out *m, int type,
                            const sio_bcast_opts *o, sio__sbuf *flags);
/* The packet's attachments as msgpack bins (views into p; free the array), NULL if none. */
sio__mp_bin *sio__sadapter_bins(const sio_packet *p, size_t *n);

/* 1 for sharded pub/sub (SSUBSCRIBE, SPUBLISH, SHARDNUMSUB), 0 for the streams adapter's. */
static inline int sio__sadapter_shard(const sio__sadapter *s) {
  return !s->ra || !s->ra->streams;
}
/* A decoded message of another server or a response to us (response: it came on our response
 * channel), after Node's checks. offset: the stream entry id it came as (NULL: pub/sub). */
void sio__sadapter_dispatch(sio__sadapter *s, const sio__cluster_msg *m,
                            const sio__redis_message *raw, int response, const char *offset,
                            size_t offset_len);

/* streams_adapter.c */
typedef struct sio__streams sio__streams;
int sio__streams_new(sio_redis_adapter *ra, uv_loop_t *loop, const char *url,
                     const sio_redis_streams_opts *o); /* sets ra->streams, also on error */
void sio__streams_free(sio__streams *st);
void sio__streams_unref(sio__streams *st);
int sio__streams_ready(const sio__streams *st);
int sio__streams_ephemeral(const sio__cluster_out *m);
/* XADD of m to s's stream; cb (may be NULL) gets the entry id. */
int sio__streams_xadd(sio__sadapter *s, const sio__cluster_out *m, sio__redis_reply_cb cb,
                      void *user);
const char *sio__streams_name(const sio__streams *st, unsigned *count);
/* The id of the last entry the reader of stream read ("" until known, "0-0": the stream was
 * empty). */
const char *sio__streams_last(const sio__streams *st, const char *stream);
/* Holds (on 1) or resumes (on 0) the dispatch of stream's entries; holds nest. */
void sio__streams_pause(sio__streams *st, const char *stream, int on);
/* sessionKeyPrefix ("sio:session:" by default). */
const char *sio__streams_session_prefix(const sio__streams *st);

/* streams_offsets.c: offsets of stored broadcasts (Node's ClusterAdapter.broadcast and
 * addOffsetIfNecessary). A broadcast with SIO_BC_STORE is XADDed and delivered to the local
 * recipients when Redis answers, its entry id appended to its data (without it when the XADD
 * failed, as Node); returns 0 (no local recipient now). */
long sio__streams_broadcast_stored(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o);
/* A broadcast of another server read from the stream (s->cur_off): its data with the entry id
 * appended in out when Node would add it (recovery on, an EVENT without ack id, not volatile):
 * 1, else 0 (out untouched), or -ENOMEM. */
int sio__streams_remote_data(sio__sadapter *s, const sio__cluster_msg *m, const sio_bcast_opts *o,
                             sio__sbuf *out);
/* The local selection, without the sockets whose restore already replayed the entry being
 * dispatched (s->restored). */
long sio__streams_select(sio__sadapter *s, const sio_bcast_opts *o, sio_member_fn fn, void *ctx);
/* Entries past what a restore replayed: its socket no longer needs filtering. */
void sio__streams_prune_restored(sio__sadapter *s, const char *id, size_t len);
/* The namespace adapter goes: what waits for Redis is told (restores get SIO_ECLOSED). */
void sio__streams_pending_cancel(sio__sadapter *s);

/* streams_session.c: persistSession / restoreSession / the newest offset. */
int sio__streams_persist(sio_adapter *a, const sio_session *ss);
int sio__streams_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn fn,
                         void *user);
int sio__streams_last_offset(sio_adapter *a, char *buf, size_t cap);

/* sharded_receive.c: a message of another server (not a response to us). */
void sio__sadapter_on_message(sio__sadapter *s, const sio__cluster_msg *m,
                              const sio__redis_message *raw);
/* sharded_ask.c */
void sio__sadapter_on_response(sio__sadapter *s, const sio__cluster_msg *m);
int sio__sadapter_fetch_sockets(sio_adapter *a, const sio_bcast_opts *o, sio_remote_sockets_fn fn,
                                void *user);
int sio__sadapter_add_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n);
int sio__sadapter_del_sockets(sio_adapter *a, const sio_bcast_opts *o, const char *const *rooms,
                              size_t n);
int sio__sadapter_disconnect_sockets(sio_adapter *a, const sio_bcast_opts *o, int close);
int sio__sadapter_server_side_emit(sio_adapter *a, const sio_packet *p, uint32_t timeout_ms,
                                   sio_server_acks_fn fn, void *user);
int sio__sadapter_server_count(sio_adapter *a, sio_count_fn fn, void *user);
int sio__sadapter_broadcast_acks(sio__sadapter *s, const sio_packet *p, const sio_bcast_opts *o,
                                 sio_bcast_acks *acks);

#endif
