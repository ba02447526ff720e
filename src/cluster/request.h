/* The classic Redis adapter's messages (@socket.io/redis-adapter 8.3, lib/index.ts; also what
 * @socket.io/redis-emitter 5.1 publishes):
 *
 * - broadcasts on `<prefix>#<nsp>#[<room>#]`: notepack msgpack of `[uid, packet, opts]`, with
 *   packet = {type: 2, data: [ev, ...], nsp} (binaries as bin) and opts = {rooms, except, flags};
 * - requests on `<prefix>-request#<nsp>#`: JSON (`{` first) or msgpack, RequestType 0-9:
 *     0 SOCKETS {requestId, rooms}             (receive-only, from old versions)
 *     1 ALL_ROOMS {uid, requestId, type}
 *     2 REMOTE_JOIN, 3 REMOTE_LEAVE {uid, type, opts: {rooms, except}, rooms}
 *       (legacy form: {requestId, sid, room}; an emitter leaves uid out)
 *     4 REMOTE_DISCONNECT {uid, type, opts, close}   (legacy: {requestId, sid, close})
 *     5 REMOTE_FETCH {uid, requestId, type, opts}
 *     6 SERVER_SIDE_EMIT {uid, [requestId,] type, data: [ev, ...]}
 *     7 BROADCAST with ack, always msgpack: {uid, requestId, type, packet, opts: {.., flags}}
 * - responses on `<prefix>-response#<nsp>#[<uid>#]`, typed by the request they answer:
 *     {requestId, sockets} (0, 5), {requestId, rooms} (1), {requestId} (legacy 2-4),
 *     {type: 6, requestId, data}, {type: 8, requestId, clientCount},
 *     {type: 9, requestId, packet} (always msgpack).
 * Encoders write the members in the order index.ts creates them; decoders check what Node's
 * handlers use and answer 0, SIO__CLUSTER_EFORMAT, SIO__CLUSTER_EFOREIGN or -ENOMEM. */
#ifndef SIO_CLUSTER_REQUEST_H
#define SIO_CLUSTER_REQUEST_H
#include <stddef.h>
#include <stdint.h>

#include "cluster/wire.h"

enum {
  SIO__RR_SOCKETS = 0,
  SIO__RR_ALL_ROOMS,
  SIO__RR_REMOTE_JOIN,
  SIO__RR_REMOTE_LEAVE,
  SIO__RR_REMOTE_DISCONNECT,
  SIO__RR_REMOTE_FETCH,
  SIO__RR_SERVER_SIDE_EMIT,
  SIO__RR_BROADCAST,
  SIO__RR_BROADCAST_CLIENT_COUNT,
  SIO__RR_BROADCAST_ACK,
};

/* A broadcast received on the broadcast channel. Slices index wire.text. */
typedef struct sio__redis_bcast {
  sio__wire wire;
  sio__json_slice uid;                  /* string */
  sio__json_slice packet, packet_data;  /* the packet object and its data array */
  sio__json_slice nsp;                  /* packet.nsp (a string), absent meaning "/" */
  sio__json_slice rooms, except, flags; /* absent when the sender left them out */
} sio__redis_bcast;

int sio__redis_decode_broadcast(sio__redis_bcast *b, const void *data, size_t n);
void sio__redis_bcast_free(sio__redis_bcast *b);

/* What every encoder below takes; each uses the fields its message has. */
typedef struct sio__redis_out {
  int type;
  const char *uid;        /* NULL: left out (an emitter's join/leave/disconnect) */
  const char *request_id; /* NULL: absent */
  const char *nsp;        /* the packet's nsp (broadcasts) */
  const char *const *rooms;
  size_t nrooms;
  const char *const *except;
  size_t nexcept;
  const char *flags;       /* JSON object or NULL */
  const char *const *join; /* 2/3: rooms to join or leave; ALL_ROOMS response: the rooms */
  size_t njoin;
  int close; /* 4: 1, 0 or -1 (left out) */
  /* broadcasts, 7: the event's data array; 6: the data array (request) or the ack value
   * (response, NULL: undefined); 9: the ack value (NULL: undefined); sockets responses: the
   * sockets array. Binaries as placeholders numbering bins. */
  const char *json;
  size_t json_len;
  const sio__mp_bin *bins;
  size_t nbins;
  int64_t client_count; /* 8 */
  /* broadcasts: opts as {rooms, flags, except}, the order @socket.io/redis-emitter 5.1 writes
   * them in (the adapter writes {rooms, except, flags}) */
  int emitter_order;
} sio__redis_out;

/* [uid, {type: 2, data, nsp}, {rooms, except, flags}] in msgpack ({rooms, flags, except} with
 * emitter_order). */
int sio__redis_encode_broadcast(sio__sbuf *out, const sio__redis_out *m);

/* A request (types 0-7). */
typedef struct sio__redis_req {
  int type;
  sio__wire wire;
  sio__json_slice uid, request_id;
  int has_opts;                         /* 2-4: the opts form (else the legacy sid form) */
  sio__json_slice rooms, except, flags; /* opts */
  sio__json_slice target;               /* 0: rooms to list; 2/3: rooms to join or leave */
  sio__json_slice sid, room;            /* legacy 2-4 */
  int close;                            /* 4: 1, 0, -1 absent */
  sio__json_slice data;                 /* 6 */
  sio__json_slice packet, packet_data;  /* 7 */
} sio__redis_req;

int sio__redis_decode_request(sio__redis_req *r, const void *data, size_t n);
void sio__redis_req_free(sio__redis_req *r);
/* Types 1, 2, 3, 4, 5, 6 (JSON) and 7 (msgpack). */
int sio__redis_encode_request(sio__sbuf *out, const sio__redis_out *m);

/* A response; type is -1 for the untyped ones. */
typedef struct sio__redis_res {
  int type;
  sio__wire wire;
  sio__json_slice request_id;
  sio__json_slice sockets, rooms; /* arrays, when present */
  sio__json_slice value;          /* 6: data, 9: packet (absent: undefined) */
  int64_t client_count;           /* 8 */
} sio__redis_res;

int sio__redis_decode_response(sio__redis_res *r, const void *data, size_t n);
void sio__redis_res_free(sio__redis_res *r);
/* type SIO__RR_SOCKETS or SIO__RR_REMOTE_FETCH: {requestId, sockets}; ALL_ROOMS: {requestId,
 * rooms} (from join/njoin); REMOTE_JOIN/LEAVE/DISCONNECT: {requestId}; SERVER_SIDE_EMIT,
 * BROADCAST_CLIENT_COUNT: typed JSON; BROADCAST_ACK: msgpack. */
int sio__redis_encode_response(sio__sbuf *out, const sio__redis_out *m);

#endif
