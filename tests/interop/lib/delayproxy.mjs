// A TCP proxy in front of Redis that delays what Redis answers on some connections: those
// whose client sent XREAD (a server's stream reader: `delay: 'reader'`) or all the others (its
// command connections: `delay: 'commands'`). Each chunk from Redis goes to the client `ms`
// later, in order. The recovery tests use it to make a server's stream reader lag behind, or
// run ahead of, the XRANGE of a restore, so that the race between the two is always there.
//
//   const p = await startDelayProxy(redisPort, { delay: 'reader', ms: 60 });
//   p.url  // redis://127.0.0.1:<port>
//   await p.close();

import net from 'node:net';

export async function startDelayProxy(redisPort, { delay = 'reader', ms = 50 } = {}) {
  const socks = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: redisPort, host: '127.0.0.1' });
    socks.add(client);
    socks.add(upstream);
    let isReader = false;
    const slow = () => (delay === 'reader' ? isReader : !isReader);
    client.on('data', (d) => {
      if (!isReader && d.includes('XREAD')) isReader = true;
      upstream.write(d);
    });
    let chain = Promise.resolve();
    upstream.on('data', (d) => {
      if (!slow()) {
        chain = chain.then(() => { if (!client.destroyed) client.write(d); });
        return;
      }
      const due = Date.now() + ms;
      chain = chain.then(() => new Promise((resolve) => {
        setTimeout(() => { if (!client.destroyed) client.write(d); resolve(); }, Math.max(0, due - Date.now()));
      }));
    });
    const drop = () => { client.destroy(); upstream.destroy(); socks.delete(client); socks.delete(upstream); };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    close() {
      for (const s of socks) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
