// Shared by the connection state recovery interop tests (recovery*.test.mjs): the servers
// (examples/recovery and its Node twin, reference/recovery-server.mjs), each behind a TCP proxy
// the tests cut (cutproxy.mjs), the transports to run over, and the client steps.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from './server.mjs';
import { startCutProxy } from './cutproxy.mjs';
import { budget, sleep, withTimeout, nextEvent } from './timeouts.mjs';

export const C_BIN = path.join(BIN_DIR, 'recovery');
export const NODE_TWIN = path.join(INTEROP_DIR, 'reference', 'recovery-server.mjs');
export const skip = existsSync(C_BIN) ? false : `${C_BIN} is not built yet`;

// pingInterval/pingTimeout short enough that a polling client whose requests were cut is
// noticed as gone (ping timeout, a reason that keeps the session) well within a test
const PING = ['--ping-interval', '300', '--ping-timeout', '300'];

export async function startC(args = []) {
  const port = await freePort();
  return startServer({command: C_BIN, args: ['--port', String(port), ...PING, ...args], port});
}

export async function startNode(args = []) {
  const port = await freePort();
  return startServer({
    command: process.execPath,
    args: [NODE_TWIN, '--port', String(port), ...PING, ...args],
    port,
  });
}

export const MODES = {
  websocket: {transports: ['websocket']},
  polling: {transports: ['polling']},
  upgrade: {transports: ['polling', 'websocket'], upgrade: true},
};

/** A server behind a cut proxy, with the clients of one test. */
export async function setup(start, args) {
  const server = await start(args);
  const proxy = await startCutProxy(server.port);
  const sockets = [];
  return {
    server,
    proxy,
    sockets,
    /** A client through the proxy (cut by cut()), or with direct: straight to the server. */
    client(mode, opts = {}, direct = false) {
      const s = connect(direct ? server.url : proxy.url, {
        transports: mode.transports,
        reconnection: false,
        forceNew: true,
        ...opts,
      });
      s.log = [];
      s.on('connect', () => s.log.push(['connect']));
      s.on('news', (...a) => s.log.push(['news', ...a]));
      s.on('bin', (...a) => s.log.push(['bin', ...a]));
      sockets.push(s);
      return s;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await proxy.close();
      await stopAndCheck(server);
    },
  };
}

/** Connected (and upgraded, in upgrade mode). */
export async function ready(s, mode) {
  if (!s.connected) await nextEvent(s, 'connect', budget(8000));
  if (mode.upgrade && s.io.engine.transport.name !== 'websocket') {
    await nextEvent(s.io.engine, 'upgrade', budget(8000));
  }
}

/** Cuts the proxy's connections and waits until the client noticed. */
export async function cut(env, s) {
  const gone = nextEvent(s, 'disconnect', budget(8000));
  env.proxy.cut();
  const [reason] = await gone;
  return reason;
}

/** The server noticed the drop: a ping timeout at most (300 + 300 ms) plus slack. */
export const serverNotices = () => sleep(900);

export const ask = (s, ev, ...args) => withTimeout(s.emitWithAck(ev, ...args), budget(5000), ev);

/** Reconnects by hand (the client sends its pid and last offset, as on a reconnection). */
export async function reconnect(s, mode) {
  s.connect();
  await ready(s, mode);
}
