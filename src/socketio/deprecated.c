/* The Socket.IO names of sio 0.1 that issue 12 renamed so that every handle's data is
 * sio_<handle>_data and every emit or ack answer names its argument form (_raw, f, _value,
 * _args, _msg). Each old name stays one release as an exported function that calls its new
 * name, so that programs built against 0.1 still link and run; the header marks them
 * deprecated, and docs/socketio.md ("Deprecated names") lists them. Nothing in the tree calls
 * them but tests/api, which checks that they still work. */
#include "sio/io.h"

void sio_set_data(sio_socket *s, void *data) {
  sio_socket_set_data(s, data);
}
void *sio_data(const sio_socket *s) {
  return sio_socket_data(s);
}

int sio_ack_raw(sio_ack *ack, const char *args_json) {
  return sio_ack_send_raw(ack, args_json);
}
int sio_ack_value(sio_ack *ack, const json_t *args_array) {
  return sio_ack_send_value(ack, args_array);
}
int sio_ack_args(sio_ack *ack, const sio_args *args) {
  return sio_ack_send_args(ack, args);
}
int sio_ack_msg(sio_ack *ack, sio_msg *m) {
  return sio_ack_send_msg(ack, m);
}

int sio_op_emit(sio_op *op, const char *event, const json_t *args_array) {
  return sio_op_emit_value(op, event, args_array);
}
int sio_emit_ack(sio_socket *s, const char *event, const char *args_json, uint32_t timeout_ms,
                 sio_ack_fn fn, void *user) {
  return sio_emit_ack_raw(s, event, args_json, timeout_ms, fn, user);
}
int sio_emit_async(sio_io *io, const char *nsp, const char *room, const char *event,
                   const char *args_json) {
  return sio_emit_async_raw(io, nsp, room, event, args_json);
}
