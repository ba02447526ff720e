// What npm @socket.io/redis-emitter 5.1 publishes for each call of
// tests/unit/emitter/test_emitter_diff.c's list (the same calls, in the same order), through a
// fake Redis client: one line per publish, "M <channel hex> <payload hex>", for the C side to
// compare with what sio's emitter publishes. Also checks that the calls Node refuses throw.
// Exit 0: done, 77: the npm package is missing.
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.SIO_SOURCE_DIR || process.cwd()}/package.json`);
let Emitter;
try {
  ({ Emitter } = require('@socket.io/redis-emitter'));
} catch {
  process.exit(77);
}
const hex = (m) => Buffer.from(m).toString('hex');
const client = { publish(ch, m) { process.stdout.write(`M ${hex(ch)} ${hex(m)}\n`); } };
const e = new Emitter(client);
const k = new Emitter(client, { key: 'my-key' }, '/x');

e.emit('hello');
e.emit('hello', 'world', 1, 2.5, null, { a: [true, false] }, [1, [2]]);
e.to('room1').emit('ev', 1, { a: true });
e.to('r1').to('r2').to('r1').except('x').except('y').emit('multi');
e.in('a').except('a').emit('in');
e.emit('bin', Buffer.from([1, 2, 3]));
e.emit('mixed', 'x', { f: Buffer.from('ab'), g: [Buffer.from([0])] });
e.of('/chat').except('x').volatile.emit('v');
e.of('chat').compress(false).volatile.emit('c');
e.volatile.compress(true).compress(false).emit('vc');
k.to('r').emit('k', 'é', '\u2028', '\ud83d\ude00');
e.in('r').socketsJoin('s');
e.socketsJoin(['a', 'b']);
e.to('r').except('x').socketsLeave('s');
e.socketsLeave(['a', 'b']);
e.disconnectSockets(true);
e.disconnectSockets();
e.to('r').disconnectSockets(false);
e.serverSideEmit(...JSON.parse('["hello", "world", {"a": 15e299, "b": [1,2], "a": 1.5e300}, 1e21, -0]'));
e.serverSideEmit('n');
e.emit('f', 1, 'two', { three: 3 });
e.emit('value', [1, 'a'], { k: null });
e.emit('num', 1e21, -0, 0.1, 2 ** 53, -5, 300, -70000);
e.of('/admin').to('only').emit('one');
e.emit('big', 'x'.repeat(70000));
e.emit('bigbin', Buffer.alloc(70000, 7));
k.of('/y').in('a').in('b').disconnectSockets(true);
k.serverSideEmit('k', 'é');
e.emit('empty', Buffer.alloc(0));

let refused = 0;
for (const ev of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
  try { e.emit(ev); } catch { refused++; }
try { e.serverSideEmit('ask', () => {}); } catch { refused++; }
process.exitCode = refused === 7 ? 0 : 1; // exit() could cut stdout short
