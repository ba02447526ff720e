// A TCP proxy whose connections a test can cut, as a network drop does: `cut()` resets the
// server side (RST) and destroys the client side of every connection open through it, with no
// close handshake of any protocol (no WebSocket close frame, no Engine.IO close packet).
//
//   const proxy = await startCutProxy(serverPort);   // proxy.url, proxy.port
//   proxy.cut();                                      // every connection so far is gone, and
//                                                     // new ones for blockMs (200) too
//   proxy.retarget(otherPort);                        // new connections go to another server
//   await proxy.close();

import net from 'node:net';

export async function startCutProxy(targetPort, targetHost = '127.0.0.1') {
  const pairs = new Set();
  let blockedUntil = 0;
  let target = targetPort;
  const server = net.createServer((client) => {
    if (Date.now() < blockedUntil) { // the network is still down
      client.destroy();
      return;
    }
    const upstream = net.connect({ port: target, host: targetHost });
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** New connections go to this port (a client "moves" to another server). */
    retarget(port) { target = port; },
    /** How many connections are open through the proxy. */
    get open() { return pairs.size; },
    /** Cuts every open connection (RST to the server, plain destroy to the client) and
     * refuses new ones for blockMs: a polling client between two requests notices too. */
    cut(blockMs = 200) {
      blockedUntil = Date.now() + blockMs;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        if (typeof pair.upstream.resetAndDestroy === 'function') pair.upstream.resetAndDestroy();
        else pair.upstream.destroy();
        pair.client.destroy();
      }
    },
    close() {
      this.cut(0);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
