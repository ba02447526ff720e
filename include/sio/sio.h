/* sio: Express + Socket.IO for C. One include for everything a program touches:
 *   sio/core.h    errors, version, logging, allocator
 *   sio/http.h    the app: routes, middleware, static files, templates
 *   sio/tls.h     HTTPS and wss: certificates, SNI, client certificates, reload
 *   sio/ws.h      raw RFC 6455 WebSockets on an app
 *   sio/engine.h  Engine.IO v4 sessions on an app (what Socket.IO runs on)
 *   sio/io.h      Socket.IO v5: namespaces, events, acks, rooms, broadcast
 *   sio/parser.h  the msgpack parser (socket.io-msgpack-parser)
 *   sio/compat.h  older clients: socket.io-client 2.x (Engine.IO v3, allowEIO3)
 *   sio/handshake.h  allowRequest, socket.handshake as one object
 *   sio/cluster.h the other servers: serverSideEmit, serverCount, allRooms, remote sockets
 *   sio/adapter.h the adapter seam (rooms, broadcast, cluster) for multi-node adapters
 *   sio/emitter.h emit to a Redis cluster of servers from a program without sockets
 *   sio/stats.h   traffic counters of a Socket.IO server (for metrics)
 *   sio/admin.h   the admin UI (@socket.io/admin-ui): instrument a server
 * Usable from C++ (every header is extern "C"). Link with `pkg-config --libs sio`. */
#ifndef SIO_SIO_H
#define SIO_SIO_H

#include "sio/core.h"
#include "sio/workers.h"
#include "sio/http.h"
#include "sio/tls.h"
#include "sio/ws.h"
#include "sio/engine.h"
#include "sio/io.h"
#include "sio/parser.h"
#include "sio/compat.h"
#include "sio/handshake.h"
#include "sio/cluster.h"
#include "sio/adapter.h"
#include "sio/redis.h"
#include "sio/emitter.h"
#include "sio/stats.h"
#include "sio/admin.h"

#endif
