/* sio admin UI: the server side of @socket.io/admin-ui 0.5 (Node's `instrument(io, opts)`), so
 * that the hosted UI (https://admin.socket.io) or a copy of it served by the app shows this
 * server: its clients, sockets, rooms and traffic, and can emit, join, leave and disconnect.
 *
 *   sio_admin_opts o = sio_admin_opts_default();
 *   o.username = "admin";
 *   o.password_hash = "$2b$10$...";          // bcrypt, e.g. `htpasswd -nbBC 10 "" pw`
 *   if (sio_admin_ui(io, &o) != 0) ...;      // the "/admin" namespace is ready
 *
 * What the UI gets is what Node's package sends, event for event (docs/admin.md):
 * - a CONNECT to the admin namespace passes the basic auth (auth {username, password}, or the
 *   {sessionId} an earlier login got with the "session" event); else connect_error
 *   "invalid credentials". The password is checked with libcrypt's crypt() off the loop thread
 *   and the results compared in constant time.
 * - "config" {supportedFeatures}, then (development mode) "all_sockets"; "server_stats" every
 *   2 s (serverId, hostname, pid, uptime, clientsCount, pollingClientsCount, aggregatedEvents,
 *   namespaces); in development mode socket_connected / socket_updated / socket_disconnected,
 *   room_joined / room_left, event_received / event_sent for the sockets of every namespace.
 * - the UI's operations "emit", "join", "leave", "_disconnect" act on the real sockets (none in
 *   readonly mode). A malformed operation is ignored with a warning in the log.
 * socket.data shows what sio_socket_set_data_json set ({} otherwise). */
#ifndef SIO_ADMIN_H
#define SIO_ADMIN_H

#include "sio/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sio_admin_mode {
  SIO_ADMIN_DEVELOPMENT = 0, /* every socket, room and event is sent to the UI (default) */
  SIO_ADMIN_PRODUCTION = 1,  /* server_stats only (with the aggregated counts) */
} sio_admin_mode;

typedef struct sio_admin_opts {
  const char *username;      /* auth {type: "basic"}: the user name ... */
  const char *password_hash; /* ... and its password's bcrypt hash ($2a$, $2b$ or $2y$) */
  int no_auth;               /* auth: false (anyone may connect: a warning is logged); then leave
                                username and password_hash NULL */
  int readonly;              /* readonly: the UI may look, not act (no operation is supported) */
  const char *nsp;           /* namespaceName ["/admin"] */
  const char *server_id;     /* serverId [the host name] */
  sio_admin_mode mode;       /* [development] */
} sio_admin_opts;

SIO_EXTERN sio_admin_opts sio_admin_opts_default(void);

/* instrument(io, opts): serves the admin namespace on io (copied options). 0, or -EINVAL when
 * the options are wrong (no auth given and no_auth not set, a password hash that is not a
 * bcrypt hash, a namespace name not starting with '/'), -EBUSY when io is already instrumented,
 * -ENOMEM. Each problem is also logged. The admin state goes with the server (sio_io_free). */
SIO_EXTERN int sio_admin_ui(sio_io *io, const sio_admin_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
