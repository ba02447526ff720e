// The Socket.IO behaviour of the conformance servers (../../shared/CONFORMANCE.md), shared by
// the Node reference servers: on connection emit `auth` with the CONNECT payload, echo
// `message` as `message-back` and answer `message-with-ack` with its own arguments.

export function conformanceHandlers(socket) {
  socket.emit('auth', socket.handshake.auth);
  socket.on('message', (...args) => socket.emit('message-back', ...args));
  socket.on('message-with-ack', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
}
