/* emit: one @socket.io/redis-emitter call to a Redis cluster of servers (sio or Node on
 * @socket.io/redis-adapter) from the command line, as a cron job would make it:
 *
 *   emit --redis URL [--key socket.io] [--nsp /chat] [--to ROOM]... [--except ROOM]...
 *        [--volatile] [--bin HEX]... EVENT [JSON_ARGS]        emitter.to(..).emit(EVENT, ...)
 *   emit --redis URL [--nsp N] [--to ROOM]... --sockets-join ROOM    .socketsJoin(ROOM)
 *   emit --redis URL [--nsp N] [--to ROOM]... --sockets-leave ROOM   .socketsLeave(ROOM)
 *   emit --redis URL [--nsp N] [--to ROOM]... --disconnect [--close] .disconnectSockets(close)
 *   emit --redis URL [--nsp N] --server-side EVENT [JSON_ARGS]       .serverSideEmit(EVENT, ...)
 *
 * JSON_ARGS is the JSON array of the event's arguments ('[1,"two"]'; none when left out); each
 * --bin HEX appends one binary argument (hex digits, sent as msgpack bin) after them.
 * The program makes the call, frees the emitter and runs the loop until Redis answered.
 * Exit status 0 once Redis took it (stdout: how many subscribers received it; 0 for
 * --server-side, whose delivery is confirmed by a flush), 1 when it could not be sent (Redis
 * down: after the connection attempt fails), 2 on bad usage. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/sio.h"

#define MAX_LIST 64

static int usage(void) {
  fprintf(stderr, "usage: emit --redis URL [--key K] [--nsp N] [--to ROOM]... [--except ROOM]...\n"
                  "            [--volatile] [--bin HEX]... EVENT [JSON_ARGS]\n"
                  "       emit --redis URL ... (--sockets-join ROOM | --sockets-leave ROOM |\n"
                  "            --disconnect [--close] | --server-side EVENT [JSON_ARGS])\n");
  return 2;
}

typedef struct cli {
  sio_emitter_opts opts;
  const char *url, *to[MAX_LIST], *except[MAX_LIST], *hex[MAX_LIST], *event, *args;
  const char *join, *leave;
  int nto, nexcept, nbin, vol, disconnect, close, server_side;
} cli;

/* 0, or 2 (usage) when argv is not a valid command line. */
static int parse_cli(int argc, char **argv, cli *c) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--redis") && v)
      c->url = v, i++;
    else if (!strcmp(a, "--key") && v)
      c->opts.key = v, i++;
    else if (!strcmp(a, "--nsp") && v)
      c->opts.nsp = v, i++;
    else if (!strcmp(a, "--to") && v && c->nto < MAX_LIST)
      c->to[c->nto++] = v, i++;
    else if (!strcmp(a, "--except") && v && c->nexcept < MAX_LIST)
      c->except[c->nexcept++] = v, i++;
    else if (!strcmp(a, "--bin") && v && c->nbin < MAX_LIST)
      c->hex[c->nbin++] = v, i++;
    else if (!strcmp(a, "--sockets-join") && v)
      c->join = v, i++;
    else if (!strcmp(a, "--sockets-leave") && v)
      c->leave = v, i++;
    else if (!strcmp(a, "--volatile"))
      c->vol = 1;
    else if (!strcmp(a, "--disconnect"))
      c->disconnect = 1;
    else if (!strcmp(a, "--close"))
      c->close = 1;
    else if (!strcmp(a, "--server-side"))
      c->server_side = 1;
    else if (a[0] == '-' && a[1] == '-')
      return 2;
    else if (!c->event)
      c->event = a;
    else if (!c->args)
      c->args = a;
    else
      return 2;
  }
  int commands = !!c->join + !!c->leave + c->disconnect + (c->event != NULL);
  if (!c->url || commands != 1 || (c->close && !c->disconnect)) return 2;
  if (c->server_side && (!c->event || c->nto || c->nexcept || c->vol || c->nbin)) return 2;
  return 0;
}

static int hex_digit(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

/* Decodes hex into a new buffer (*out, *len); -EINVAL for an odd length or a non-hex digit. */
static int hex_decode(const char *hex, unsigned char **out, size_t *len) {
  size_t n = strlen(hex);
  if (n % 2) return -EINVAL;
  unsigned char *b = malloc(n / 2 + 1);
  if (!b) return -ENOMEM;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return free(b), -EINVAL;
    b[i] = (unsigned char)(hi << 4 | lo);
  }
  *out = b, *len = n / 2;
  return 0;
}

/* The emit with --bin arguments: JSON_ARGS plus one placeholder per binary, as
 * sio_emitter_op_emit_raw_bins takes them. */
static int emit_with_bins(sio_emitter_op *op, const cli *c) {
  json_error_t err;
  json_t *args = c->args ? json_loads(c->args, 0, &err) : json_array();
  if (!json_is_array(args)) return json_decref(args), sio_emitter_op_free(op), -EINVAL;
  sio_emitter_bin bins[MAX_LIST];
  unsigned char *bufs[MAX_LIST];
  int rc = 0, nbuf = 0;
  for (; nbuf < c->nbin && !rc; nbuf++) {
    rc = hex_decode(c->hex[nbuf], &bufs[nbuf], &bins[nbuf].len);
    if (rc) break;
    bins[nbuf].data = bufs[nbuf];
    json_array_append_new(args, json_pack("{sbsi}", "_placeholder", 1, "num", nbuf));
  }
  char *text = rc ? NULL : json_dumps(args, JSON_COMPACT);
  if (rc || !text)
    sio_emitter_op_free(op), rc = rc ? rc : -ENOMEM;
  else
    rc = sio_emitter_op_emit_raw_bins(op, c->event, text, bins, (size_t)c->nbin);
  free(text);
  for (int i = 0; i < nbuf; i++) free(bufs[i]);
  json_decref(args);
  return rc;
}

/* The server-side emit: [EVENT, ...JSON_ARGS]. */
static int server_side_emit(sio_emitter *e, const cli *c) {
  json_error_t err;
  json_t *args = c->args ? json_loads(c->args, 0, &err) : json_array();
  if (!json_is_array(args)) return json_decref(args), -EINVAL;
  json_array_insert_new(args, 0, json_string(c->event));
  int rc = sio_emitter_server_side_emit_value(e, args);
  json_decref(args);
  return rc;
}

typedef struct result {
  int status;
  long long receivers;
} result;

static void on_done(int status, long long receivers, void *user) {
  result *r = user;
  r->status = status, r->receivers = receivers;
}

/* Makes the call the command line names; r gets its completion. */
static int run_command(sio_emitter *e, const cli *c, result *r) {
  if (c->server_side) {
    int rc = server_side_emit(e, c);
    return rc ? rc : sio_emitter_flush(e, on_done, r);
  }
  sio_emitter_op *op = sio_emitter_op_done(sio_emitter_op_new(e), on_done, r);
  for (int i = 0; i < c->nto; i++) op = sio_emitter_op_to(op, c->to[i]);
  for (int i = 0; i < c->nexcept; i++) op = sio_emitter_op_except(op, c->except[i]);
  if (c->vol) op = sio_emitter_op_volatile(op);
  if (c->join) return sio_emitter_op_sockets_join(op, c->join);
  if (c->leave) return sio_emitter_op_sockets_leave(op, c->leave);
  if (c->disconnect) return sio_emitter_op_disconnect_sockets(op, c->close);
  if (c->nbin) return emit_with_bins(op, c);
  return sio_emitter_op_emit_raw(op, c->event, c->args);
}

int main(int argc, char **argv) {
  cli c = {.opts = sio_emitter_opts_default()};
  if (parse_cli(argc, argv, &c)) return usage();

  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_emitter *e;
  int rc = sio_emitter_new(&loop, c.url, &c.opts, &e);
  if (rc) {
    fprintf(stderr, "emit: %s: %s\n", c.url, sio_emitter_strerror(rc));
    return 1;
  }
  result r = {.status = 1};
  rc = run_command(e, &c, &r);
  sio_emitter_free(e); /* the message is still sent: the loop runs until it is answered */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rc) {
    fprintf(stderr, "emit: %s%s\n", sio_emitter_strerror(rc),
            rc == -EINVAL ? " (JSON_ARGS must be a JSON array, --bin hex digits, EVENT not a "
                            "reserved name)"
                          : "");
    return rc == -EINVAL ? 2 : 1;
  }
  if (r.status) {
    fprintf(stderr, "emit: not sent: %s\n", sio_emitter_strerror(r.status));
    return 1;
  }
  printf("%lld\n", c.server_side ? 0 : r.receivers);
  return 0;
}
