/* libFuzzer target: what the other workers send to a worker's cluster link (net/worker_data.c
 * reassembling data fragments, then redis_adapter/local_link.c reading hellos, subscription
 * announcements and publishes, with a glob match of each channel against the link's pattern).
 * The input is a sequence of fragments: one byte (bits 0-1: first and last fragment of its
 * message, bits 2-3: the sending worker), two bytes of length, then the fragment's bytes. Nothing
 * may crash, leak or read out of bounds; a publish for a subscribed channel or pattern reaches its
 * handler. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "net/worker_internal.h"
#include "redis_adapter/redis_link.h"

static uv_loop_t loop;
static sio_worker *worker;
static sio__rlink *link_;
static sio__rlink_sub chan, pat;
static size_t delivered;

static void on_msg(const sio__redis_message *m, void *user) {
  delivered += m->len + m->channel_len;
}

static void setup(void) {
  uv_loop_init(&loop);
  int fds[4] = {-1, -1, -1, -1}; /* no sockets: sends to the others fail, as when they are gone */
  worker = sio__worker_new(1, 4, fds);
  sio__rlink_new_local(&loop, worker, &link_);
  chan.kind = SIO__REDIS_SHARD;
  chan.fn = pat.fn = on_msg;
  pat.kind = SIO__REDIS_PATTERN;
  sio__rlink_subscribe(link_, &chan, "socket.io#/#", 12);
  sio__rlink_subscribe(link_, &pat, "socket.io#/#*#", 14);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!worker) setup();
  static char msg[sizeof(data_head) + 65536];
  while (size >= 3) {
    uint32_t flags = data[0] & 3u;
    int from = (data[0] >> 2) & 3;
    size_t n = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3, size -= 3;
    if (n > size) n = size;
    data_head h = {WORKER_DATA_MAGIC, (uint32_t)n, flags};
    memcpy(msg, &h, sizeof h);
    memcpy(msg + sizeof h, data, n);
    sio__worker_data_fragment(worker, from, msg, sizeof h + n);
    data += n, size -= n;
  }
  /* the next input starts anew: no partial message, no announcement kept (a hello each) */
  for (int i = 0; i < 4; i++) {
    sio__sbuf_reset(&worker->peers[i].rx_partial);
    data_head h = {WORKER_DATA_MAGIC, 1, DATA_FIRST | DATA_LAST};
    memcpy(msg, &h, sizeof h);
    msg[sizeof h] = 'H';
    if (i != 1) sio__worker_data_fragment(worker, i, msg, sizeof h + 1);
  }
  return 0;
}
