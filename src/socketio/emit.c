/* Emitting to one socket: the sio_socket_emit* front doors, each building a sio_msg and
 * sending it through one path (ack registration, encoding, onAnyOutgoing listeners, the
 * send-buffer policy). Broadcasts are in op.c, acks in ack.c. */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "socketio/io_internal.h"

/* --- to one socket ------------------------------------------------------------------------ */

/* onAnyOutgoing listeners get a view of what is sent. */
void sio__emit_out_listeners(sio_socket *s, const sio_msg *m, sio_args **view, sio__buf **text) {
  if (!(s->hkinds & 1u << SIO__H_ANY_OUT) || !m->event) return;
  if (m->view && !*view) { /* passed-on arguments: they are already a view */
    for (size_t i = 0; i < s->h.n; i++) {
      sio__cb cb = s->h.v[i];
      if (cb.kind == SIO__H_ANY_OUT) ((sio_any_fn)cb.fn)(s, m->event, m->view, cb.user);
    }
    return;
  }
  if (!*view) {
    sio__sbuf sb = SIO__SBUF_INIT;
    sio__sbuf_appendc(&sb, '[');
    sio__json_escape(&sb, m->event, strlen(m->event));
    if (m->nargs) {
      sio__sbuf_appendc(&sb, ',');
      sio__sbuf_append(&sb, m->args.data, m->args.len);
    }
    sio__sbuf_appendc(&sb, ']');
    sio__buf *b = sio__sbuf_to_buf(&sb);
    if (!b) return;
    sio_args *v = sio__calloc(1, sizeof(*v));
    if (!v ||
        sio__args_init(v, b->data, b->len, 1, m->att, m->natt, m->natt > 0, SIO__JSON_MAX_DEPTH)) {
      sio__free(v);
      sio__buf_unref(b);
      return;
    }
    *view = v;
    *text = b;
  }
  for (size_t i = 0; i < s->h.n; i++) {
    sio__cb cb = s->h.v[i];
    if (cb.kind == SIO__H_ANY_OUT) ((sio_any_fn)cb.fn)(s, m->event, *view, cb.user);
  }
}

void sio__view_free(sio_args *view, sio__buf *text) {
  if (view) {
    sio__args_free(view);
    sio__free(view);
  }
  if (text) sio__buf_unref(text);
}

int sio__emit_out_send(sio_socket *s, const sio_msg *m, const sio__out *o, int vol) {
  sio_args *view = NULL;
  sio__buf *vtext = NULL;
  sio__emit_out_listeners(s, m, &view, &vtext);
  sio__view_free(view, vtext);
  return sio__socket_send_packet(s, o, vol);
}

static int emit_to_socket(sio_socket *s, sio_msg *m) {
  return sio__emit_to_socket(s, m, SIO_BC_COMPRESS);
}

int sio__emit_to_socket(sio_socket *s, sio_msg *m, unsigned flags) {
  int vol = (flags & SIO_BC_VOLATILE) != 0;
  if (!m) return -ENOMEM;
  int rc = m->failed;
  if (!rc && !s) rc = -EINVAL;
  if (!rc && s->state != SIO__S_CONNECTED) rc = SIO_ECLOSED;
  if (!rc && m->acks_fn) rc = -EINVAL; /* use sio_msg_ack for one socket */
  if (!rc && vol && !sio__client_writable(s->client)) rc = SIO_ETOOLARGE; /* dropped */
  if (rc) {
    sio_msg_free(m);
    return rc;
  }
  sio_nsp *nsp = s->nsp;
  if (!m->ack_fn && !vol && s->rec && sio__rec_stores(nsp)) { /* stored, with its offset */
    rc = sio__emit_stored(s, m, flags);
    sio_msg_free(m);
    return rc;
  }
  uint64_t id = SIO__SIO_NO_ID;
  sio__pending_ack *p = NULL;
  if (m->ack_fn) {
    id = nsp->next_ack_id++;
    p = sio__ack_wait(s, id, m->ack_fn, m->ack_user, m->timeout_ms);
    if (!p) {
      sio_msg_free(m);
      return -ENOMEM;
    }
  }
  sio__out o;
  rc = sio__out_build(&o, m, SIO__SIO_EVENT, nsp->name, nsp->name_len, id);
  if (rc) {
    if (p) sio__pending_free(p);
    sio_msg_free(m);
    return rc;
  }
  sio__out_set_compress(&o, (flags & SIO_BC_COMPRESS) != 0);
  rc = sio__emit_out_send(s, m, &o, vol);
  sio__out_release(&o);
  sio_msg_free(m);
  return rc;
}

int sio_socket_emit_msg(sio_socket *s, sio_msg *m) {
  return emit_to_socket(s, m);
}

int sio_socket_emit_raw(sio_socket *s, const char *event, const char *args_json) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  return m ? emit_to_socket(s, m) : rc;
}

int sio_socket_emit_value(sio_socket *s, const char *event, const json_t *arr) {
  int rc;
  sio_msg *m = sio__msg_from_value(event, arr, &rc);
  return m ? emit_to_socket(s, m) : rc;
}

int sio_socket_vemitf(sio_socket *s, const char *event, const char *fmt, va_list ap) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_vpackf(m, fmt, ap);
  return emit_to_socket(s, m);
}

int sio_socket_emitf(sio_socket *s, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = sio_socket_vemitf(s, event, fmt, ap);
  va_end(ap);
  return rc;
}

int sio_socket_emit_args(sio_socket *s, const char *event, const sio_args *args) {
  sio_msg m;
  sio__msg_init_view(&m, event, args);
  return emit_to_socket(s, &m);
}

int sio_socket_emit_bin(sio_socket *s, const char *event, const void *data, size_t len) {
  sio_msg *m = sio_msg_new(event);
  if (m) sio_msg_bin(m, data, len);
  return emit_to_socket(s, m);
}

int sio_emit_ack_raw(sio_socket *s, const char *event, const char *args_json, uint32_t timeout_ms,
                     sio_ack_fn fn, void *user) {
  int rc;
  sio_msg *m = sio__msg_from_raw(event, args_json, &rc);
  if (!m) return rc;
  sio_msg_ack(m, fn, user, timeout_ms);
  return emit_to_socket(s, m);
}
