/* The ClusterAdapter message codec of socket.io-adapter 2.5 (lib/cluster-adapter.ts): the
 * messages the sharded Redis adapter publishes (and the workers issue will pass over Unix
 * sockets), types 1-13, `{type, data, uid, nsp}`.
 *
 * On the wire (ShardedRedisAdapter#encode): JSON.stringify(message), except that types 3, 8, 9,
 * 10 and 12 whose data holds binary go as notepack msgpack of the same object. Receivers sniff
 * byte 0 (`{` is JSON). The encoder writes exactly what Node writes: the members in the order
 * the adapter's code creates them (type, data, uid, nsp; data's as listed below), undefined
 * members left out. The decoder checks each type's fields as the adapter would use them and
 * answers SIO__CLUSTER_EFORMAT (not JSON nor msgpack), SIO__CLUSTER_EFOREIGN (no message of this
 * protocol: not an object, unknown type, a field missing or of the wrong type) or -ENOMEM.
 *
 * data by type (what Node writes, in this order):
 *   1 INITIAL_HEARTBEAT, 2 HEARTBEAT, 13 ADAPTER_CLOSE: no data
 *   3 BROADCAST            {packet: {type: 2, data: [ev, ...]}, requestId?, opts}
 *   4 SOCKETS_JOIN, 5 SOCKETS_LEAVE {opts, rooms}
 *   6 DISCONNECT_SOCKETS   {opts, close?}
 *   7 FETCH_SOCKETS        {opts, requestId}
 *   8 FETCH_SOCKETS_RESPONSE {requestId, sockets: [{id, handshake, rooms, data}]}
 *   9 SERVER_SIDE_EMIT     {requestId?, packet: [ev, ...]}
 *   10 SERVER_SIDE_EMIT_RESPONSE, 12 BROADCAST_ACK {requestId, packet?}
 *   11 BROADCAST_CLIENT_COUNT {requestId, clientCount}
 * with opts = {rooms: [...], except: [...], flags: {...}}. */
#ifndef SIO_CLUSTER_MESSAGE_H
#define SIO_CLUSTER_MESSAGE_H
#include <stddef.h>
#include <stdint.h>

#include "cluster/wire.h"

enum {
  SIO__CM_INITIAL_HEARTBEAT = 1,
  SIO__CM_HEARTBEAT,
  SIO__CM_BROADCAST,
  SIO__CM_SOCKETS_JOIN,
  SIO__CM_SOCKETS_LEAVE,
  SIO__CM_DISCONNECT_SOCKETS,
  SIO__CM_FETCH_SOCKETS,
  SIO__CM_FETCH_SOCKETS_RESPONSE,
  SIO__CM_SERVER_SIDE_EMIT,
  SIO__CM_SERVER_SIDE_EMIT_RESPONSE,
  SIO__CM_BROADCAST_CLIENT_COUNT,
  SIO__CM_BROADCAST_ACK,
  SIO__CM_ADAPTER_CLOSE,
};

/* A decoded message. Slices index wire.text; a slice whose type is SIO__JSON_INVALID is
 * absent. Binary data (msgpack messages) are placeholders in the text, listed in wire.bins. */
typedef struct sio__cluster_msg {
  int type;
  sio__wire wire;
  sio__json_slice uid, nsp;             /* strings */
  sio__json_slice request_id;           /* string: 3 (ack asked), 7, 8, 9 (ack asked), 10, 11, 12 */
  sio__json_slice rooms, except, flags; /* opts of 3-7: arrays and an object (may be absent) */
  sio__json_slice packet;      /* 3: the packet object, 9: the [ev, ...] array, 10/12: a value */
  sio__json_slice packet_data; /* 3: the packet's data array */
  sio__json_slice join;        /* 4/5: the rooms to join or leave */
  sio__json_slice sockets;     /* 8: the array of sockets */
  int close;                   /* 6: 1, 0, or -1 when absent */
  int64_t client_count;        /* 11 */
} sio__cluster_msg;

/* Decodes data (which must outlive m). Free m with sio__cluster_msg_free, also after an error. */
int sio__cluster_decode(sio__cluster_msg *m, const void *data, size_t n);
void sio__cluster_msg_free(sio__cluster_msg *m);

/* A message to encode. Strings are C strings (UTF-8); JSON members are raw JSON text. */
typedef struct sio__cluster_out {
  int type;
  const char *uid, *nsp;
  const char *request_id; /* NULL: absent (3, 9: no ack asked) */
  const char *const *rooms;
  size_t nrooms;
  const char *const *except;
  size_t nexcept;
  const char *flags; /* JSON object; NULL: absent */
  /* 3: the event's data array; 9: the [ev, ...] array; 10/12: the value (NULL: undefined);
   * 8: the sockets array. Binaries as placeholders numbering bins. */
  const char *json;
  size_t json_len;
  const sio__mp_bin *bins;
  size_t nbins;
  const char *const *join; /* 4/5 */
  size_t njoin;
  int close;            /* 6: 1, 0, or -1 to leave it out */
  int64_t client_count; /* 11 */
  int msgpack;          /* 1: msgpack even without binaries (the Redis Streams adapter's pub/sub) */
} sio__cluster_out;

/* Appends the message as Node's sharded adapter would publish it. 0, -EINVAL (a type or field
 * this type cannot have), SIO__CLUSTER_EFORMAT (json invalid, a placeholder without its bin),
 * -ENOMEM. */
int sio__cluster_encode(sio__sbuf *out, const sio__cluster_out *m);
/* Appends the message's data object alone (what the Redis Streams adapter puts in an entry's
 * `data` field): JSON, or msgpack when it carries binaries (*msgpack then 1). A type without
 * data appends nothing. Same errors. */
int sio__cluster_encode_data(sio__sbuf *out, const sio__cluster_out *m, int *msgpack);

#endif
