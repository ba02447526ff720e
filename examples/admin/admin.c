/* The admin UI (@socket.io/admin-ui 0.5) on a small chat server.
 *
 *   admin [--port N] [--user NAME --hash BCRYPT | --no-auth] [--readonly] [--production]
 *         [--server-id ID] [--ui DIR] [--cors ORIGIN]
 *
 * sio_admin_ui instruments the server: the UI (the hosted https://admin.socket.io, or the copy
 * of the npm package this program serves at /ui/) connects to the "/admin" namespace with the
 * user name and password whose bcrypt hash is given (default: admin / changeit, a demo only:
 * make a hash with `htpasswd -nbBC 10 "" PASSWORD | tr -d ':\n'`). CORS allows ORIGIN with
 * credentials [https://admin.socket.io], as the UI connects withCredentials.
 *
 * The application, on "/" and "/chat", for the UI to watch and act on:
 *   "join" (room)          socket.join(room), ack(rooms count)
 *   "leave" (room)         socket.leave(room), ack()
 *   "set-data" (object)    socket.data = object (sio_socket_set_data_json), ack()
 *   "chat" (...args)       broadcast "chat" (...args) to the namespace
 *   "echo" (...args)       ack(...args)
 * tests/interop/reference/admin-server.mjs is its Node twin (socket.io 4.8 with the package's
 * instrument()); tests/interop/admin-ui.test.mjs compares them and tests/browser/admin-ui
 * drives the UI. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sio/sio.h>

#define DEMO_HASH "$2a$10$j5hgJZFF2S3Pi886qk3lRulRnnd4V349Cl9M9t6nrV/N.9GpeC9aK" /* changeit */

static int count_room(const char *room, void *user) {
  (*(int *)user)++;
  return 0;
}

static void on_join(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  const char *room = sio_args_str(a, 0, NULL);
  int n = 0;
  if (room) sio_join(s, room);
  sio_rooms(s, count_room, &n);
  if (ack) sio_ack_sendf(ack, "i", n);
}

static void on_leave(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  const char *room = sio_args_str(a, 0, NULL);
  if (room) sio_leave(s, room);
  if (ack) sio_ack_send(ack);
}

static void on_set_data(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  size_t n;
  const char *j = sio_args_json(a, 0, &n);
  if (j && sio_args_type(a, 0) == SIO_T_OBJECT) {
    char *copy = strndup(j, n);
    if (copy) sio_socket_set_data_json(s, copy);
    free(copy);
  }
  if (ack) sio_ack_send(ack);
}

static void on_chat(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  sio_emit_args(sio_nsp_op(sio_socket_nsp(s)), "chat", a);
}

static void on_echo(sio_socket *s, const sio_args *a, sio_ack *ack, void *u) {
  if (ack) sio_ack_send_args(ack, a);
}

static void on_connection(sio_socket *s, void *u) {
  sio_on(s, "join", on_join, NULL);
  sio_on(s, "leave", on_leave, NULL);
  sio_on(s, "set-data", on_set_data, NULL);
  sio_on(s, "chat", on_chat, NULL);
  sio_on(s, "echo", on_echo, NULL);
}

static int usage(void) {
  fprintf(stderr, "usage: admin [--port N] [--user NAME --hash BCRYPT | --no-auth] [--readonly]\n"
                  "             [--production] [--server-id ID] [--ui DIR] [--cors ORIGIN]\n");
  return 2;
}

int main(int argc, char **argv) {
  int port = 3000;
  const char *ui = SIO_EXAMPLE_DIR "/../../node_modules/@socket.io/admin-ui/ui/dist";
  const char *cors = "https://admin.socket.io";
  sio_admin_opts ao = sio_admin_opts_default();
  ao.username = "admin";
  ao.password_hash = DEMO_HASH;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(arg, "--no-auth")) {
      ao.no_auth = 1;
      ao.username = ao.password_hash = NULL;
    } else if (!strcmp(arg, "--readonly")) {
      ao.readonly = 1;
    } else if (!strcmp(arg, "--production")) {
      ao.mode = SIO_ADMIN_PRODUCTION;
    } else if (!val) {
      return usage();
    } else if (!strcmp(arg, "--port")) {
      port = atoi(argv[++i]);
    } else if (!strcmp(arg, "--user")) {
      ao.username = argv[++i];
    } else if (!strcmp(arg, "--hash")) {
      ao.password_hash = argv[++i];
    } else if (!strcmp(arg, "--server-id")) {
      ao.server_id = argv[++i];
    } else if (!strcmp(arg, "--ui")) {
      ui = argv[++i];
    } else if (!strcmp(arg, "--cors")) {
      cors = argv[++i];
    } else {
      return usage();
    }
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts o = sio_app_opts_default();
  o.host = "127.0.0.1";
  o.port = port;
  o.port_any = port == 0;
  o.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &o);
  if (!app || sio_app_static(app, "/ui", ui, NULL) != 0) {
    fprintf(stderr, "admin: cannot start (is %s there?)\n", ui);
    return 1;
  }
  sio_io_opts io_o = sio_io_opts_default();
  io_o.cors_origin = cors;
  io_o.cors_credentials = 1;
  sio_io *io = sio_io_attach(app, &io_o);
  int rc = io ? sio_admin_ui(io, &ao) : -ENOMEM;
  if (rc) {
    fprintf(stderr, "admin: %s\n", sio_strerror(rc));
    return 1;
  }
  sio_on_connection(io, on_connection, NULL);
  sio_on_connection(sio_of(io, "/chat"), on_connection, NULL);
  rc = sio_app_listen(app);
  if (rc) {
    fprintf(stderr, "admin: %s\n", sio_strerror(rc));
    return 1;
  }
  printf("http://127.0.0.1:%d/ui/ (the admin UI; Socket.IO at /socket.io/, admin namespace %s)\n",
         sio_app_port(app), ao.nsp);
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  sio_app_free(app);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
