/* emit: publish one Socket.IO event to a Redis cluster of servers (sio or Node on
 * @socket.io/redis-adapter) from the command line, as a cron job would with
 * @socket.io/redis-emitter:
 *
 *   emit --redis redis://127.0.0.1:6379 [--key socket.io] [--nsp /chat] [--to ROOM]...
 *        [--except ROOM]... [--volatile] EVENT [JSON_ARGS]
 *
 * JSON_ARGS is the JSON array of the event's arguments ('[1,"two"]'; none when left out).
 * The program emits, frees the emitter and runs the loop until the message is answered.
 * Exit status 0 once Redis took it (stdout: how many subscribers received it), 1 when it
 * could not be sent (Redis down: after the connection attempt fails), 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sio/sio.h"

static int usage(void) {
  fprintf(stderr, "usage: emit --redis URL [--key K] [--nsp N] [--to ROOM]... [--except ROOM]... "
                  "[--volatile] EVENT [JSON_ARGS]\n");
  return 2;
}

typedef struct result {
  int status;
  long long receivers;
} result;

static void on_done(int status, long long receivers, void *user) {
  result *r = user;
  r->status = status, r->receivers = receivers;
}

int main(int argc, char **argv) {
  sio_emitter_opts o = sio_emitter_opts_default();
  const char *url = NULL, *to[64], *except[64], *event = NULL, *args = NULL;
  int nto = 0, nexcept = 0, vol = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--redis") && v)
      url = v, i++;
    else if (!strcmp(a, "--key") && v)
      o.key = v, i++;
    else if (!strcmp(a, "--nsp") && v)
      o.nsp = v, i++;
    else if (!strcmp(a, "--to") && v && nto < 64)
      to[nto++] = v, i++;
    else if (!strcmp(a, "--except") && v && nexcept < 64)
      except[nexcept++] = v, i++;
    else if (!strcmp(a, "--volatile"))
      vol = 1;
    else if (a[0] == '-' && a[1] == '-')
      return usage();
    else if (!event)
      event = a;
    else if (!args)
      args = a;
    else
      return usage();
  }
  if (!url || !event) return usage();

  uv_loop_t loop;
  uv_loop_init(&loop);
  sio_emitter *e;
  int rc = sio_emitter_new(&loop, url, &o, &e);
  if (rc) {
    fprintf(stderr, "emit: %s: %s\n", url, sio_emitter_strerror(rc));
    return 1;
  }
  result r = {.status = 1};
  sio_emitter_op *op = sio_emitter_op_done(sio_emitter_op_new(e), on_done, &r);
  for (int i = 0; i < nto; i++) op = sio_emitter_op_to(op, to[i]);
  for (int i = 0; i < nexcept; i++) op = sio_emitter_op_except(op, except[i]);
  if (vol) op = sio_emitter_op_volatile(op);
  rc = sio_emitter_op_emit_raw(op, event, args);
  sio_emitter_free(e); /* the message is still sent: the loop runs until it is answered */
  if (rc) {
    fprintf(stderr, "emit: %s%s\n", sio_emitter_strerror(rc),
            rc == -EINVAL ? " (JSON_ARGS must be a JSON array, EVENT not a reserved name)" : "");
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc == -EINVAL ? 2 : 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (r.status) {
    fprintf(stderr, "emit: not sent: %s\n", sio_emitter_strerror(r.status));
    return 1;
  }
  printf("%lld\n", r.receivers);
  return 0;
}
