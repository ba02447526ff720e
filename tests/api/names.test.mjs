// The deprecated names of sio 0.1 still work, and every handle's user-data slot reads back
// (issue 12, point 7): the official socket.io-client against tests/api/names_server.c, whose
// answers each go through one deprecated name (sio_emit, sio_set_data/sio_data, sio_ack_raw,
// sio_ack_value, sio_ack_args, sio_ack_msg, sio_op_emit, sio_emit_async, sio_emit_ack).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { BIN_DIR, freePort, startServer, stopAndCheck } from '../interop/lib/server.mjs';
import { budget, withTimeout, nextEvent } from '../interop/lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, '..', 'tests', 'names_server');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

describe('deprecated names and user-data slots', { skip }, () => {
  let server;
  const sockets = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: BIN, args: ['--port', String(port)], port });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await stopAndCheck(server);
  });

  async function client(nsp = '/') {
    const s = connect(server.url + nsp, { transports: ['websocket'], reconnection: false });
    sockets.push(s);
    const hello = nextEvent(s, 'hello');
    await nextEvent(s, 'connect');
    assert.deepEqual(await hello, ['generic'], 'sio_emit (generic, deprecated)');
    return s;
  }
  const ask = (s, ev, ...args) => withTimeout(s.emitWithAck(ev, ...args), budget(5000), ev);

  test('ack answers through sio_ack_raw, _value, _args and _msg', async () => {
    const s = await client();
    assert.equal(await ask(s, 'ack_raw'), 'raw');
    assert.equal(await ask(s, 'ack_value'), 'value');
    assert.deepEqual(await withTimeout(new Promise((r) => s.emit('ack_args', 1, { a: [2] }, (...a) => r(a))),
      budget(5000), 'ack_args'), [1, { a: [2] }]);
    assert.equal(await ask(s, 'ack_msg'), 'msg');
  });

  test('emits through sio_op_emit, sio_emit_async and sio_emit_ack', async () => {
    const s = await client();
    const op = nextEvent(s, 'op');
    s.emit('op_emit');
    assert.deepEqual(await op, [1]);
    const late = nextEvent(s, 'async');
    s.emit('async');
    assert.deepEqual(await late, [2]);
    s.once('question', (n, cb) => cb(n * 2));
    const answer = nextEvent(s, 'answer');
    s.emit('ask');
    assert.deepEqual(await answer, [6]);
  });

  test('data slots: socket (old and new names), namespace, dynamic child, io, app', async () => {
    assert.equal(await ask(await client(), 'slots'), true);
    assert.equal(await ask(await client('/dyn-1'), 'slots'), true);
  });

  test('data slots: app and request/response over HTTP', async () => {
    assert.equal(await (await fetch(`${server.url}/slots`)).text(), '1 1');
  });
});
