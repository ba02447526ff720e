// TLS from the library itself (sio/tls.h, issue 15): the conformance server with
// --tls-cert/--tls-key, certificates made by this test (a throwaway CA with openssl, in a
// temporary folder, never committed). The official socket.io-client over wss, over https
// polling, and polling then the upgrade to wss, with binary arguments and acks; curl over
// https (keep-alive, pipelining, HEAD, 304); ALPN http/1.1; plain HTTP sent to the TLS port
// (a clear-text 400, as nginx answers); a failed handshake costs the server nothing (it goes
// on serving); client certificates required (one signed by the CA gets in, none is refused);
// socket.handshake.secure true over wss and https polling (the handshake example with TLS);
// what a handler learns of the TLS client (sio_req_tls_peer, sio_req_tls_info,
// sio_handshake_tls_peer), checked against what Node's own TLS reads of the same certificate and
// session.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { Manager } from 'socket.io-client';
import { BIN_DIR, conformanceTarget, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, withTimeout } from './lib/timeouts.mjs';

const target = conformanceTarget();
const dir = mkdtempSync(path.join(os.tmpdir(), 'sio-tls-'));
const f = (name) => path.join(dir, name);

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, signed by it. */
function makeCertificates() {
  mkdirSync(dir, { recursive: true });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=sio test CA');
  for (const [name, subj, ext] of [
    ['server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', '/C=DE/O=Acme Devices/CN=alice', 'extendedKeyUsage=clientAuth'],
  ]) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj);
    writeFileSync(f(`${name}.ext`), ext + '\n');
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
      '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  }
}

async function startTls(extra = []) {
  const port = await freePort();
  return startServer({
    command: target.command,
    args: [...target.args(port), '--tls-cert', f('server.pem'), '--tls-key', f('server.key'), ...extra],
    port,
  });
}

function connect(port, opts) {
  const manager = new Manager(`https://localhost:${port}`, {
    ca: readFileSync(f('ca.pem')), reconnection: false, timeout: budget(5000), ...opts,
  });
  return { manager, socket: manager.socket('/') };
}

function once(emitter, event, failOn = 'connect_error') {
  return withTimeout(new Promise((resolve, reject) => {
    emitter.once(event, (...a) => resolve(a));
    emitter.once(failOn, (e) => reject(new Error(`${failOn}: ${e?.message ?? e}`)));
  }), budget(8000), event);
}

function curl(...args) {
  const r = spawnSync('curl', ['-sS', '--cacert', f('ca.pem'), ...args], { encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Raw bytes to host:port and everything that comes back until the server closes. */
function rawExchange(port, bytes) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' }, () => sock.write(bytes));
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { got += d; });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  }), budget(5000), 'raw exchange');
}

/**
 * GET /tls over a TLS connection of its own (tls.connect options `opts`): the server's JSON, and
 * what the client saw of the session (protocol, cipher, the ticket it got).
 */
function tlsGet(port, opts = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    let ticket = null;
    let body = '';
    let seen = {};
    const sock = tls.connect({ port, host: '127.0.0.1', servername: 'localhost',
      ca: readFileSync(f('ca.pem')), ...opts }, () => {
      seen = { protocol: sock.getProtocol(), cipher: sock.getCipher()?.name, reused: sock.isSessionReused() };
      sock.write('GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    sock.on('session', (t) => { ticket = t; });
    sock.setEncoding('utf8');
    sock.on('data', (d) => { body += d; });
    sock.on('error', reject);
    sock.on('close', () => {
      const json = body.slice(body.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ answer: JSON.parse(json), ...seen, ticket, head: body.slice(0, body.indexOf('\r\n')) });
      } catch (e) {
        reject(new Error(`GET /tls: ${body}`));
      }
    });
  }), budget(5000), 'GET /tls');
}

/** Node's reading of a certificate file, in the fields the server answers with. */
function nodeView(file) {
  const x = new X509Certificate(readFileSync(file));
  return { subject: x.subject.split('\n').reverse().join(','), issuer: x.issuer.split('\n').reverse().join(','),
    CN: /CN=([^\n]*)/.exec(x.subject)[1], serialNumber: x.serialNumber, fingerprint256: x.fingerprint256,
    valid_from: x.validFrom, valid_to: x.validTo, authorized: true, authorizationError: null };
}

const skip = target.reference ? 'TLS is sio\'s (the reference server has none)' : target.skip;

describe('TLS: https and wss from sio itself', { skip }, () => {
  let server;
  before(async () => {
    makeCertificates();
    server = await startTls();
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, opts, final] of [
    ['wss only', { transports: ['websocket'] }, 'websocket'],
    ['https polling only', { transports: ['polling'], upgrade: false }, 'polling'],
    ['https polling, then the upgrade to wss', { transports: ['polling', 'websocket'] }, 'websocket'],
  ]) {
    test(`socket.io-client over ${name}: events, binary, acks`, async () => {
      const { manager, socket } = connect(server.port, opts);
      try {
        await once(socket, 'connect');
        const payload = ['x', { deep: [Buffer.alloc(70000, 5)] }, 'ünïcödé'];
        const back = once(socket, 'message-back');
        socket.emit('message', ...payload);
        const args = await back;
        assert.equal(args[0], 'x');
        assert.equal(Buffer.from(args[1].deep[0]).length, 70000);
        assert.equal(args[2], 'ünïcödé');
        const acked = await withTimeout(new Promise((resolve) =>
          socket.emit('message-with-ack', 1, 'two', (...a) => resolve(a))), budget(5000), 'ack');
        assert.deepEqual(acked, [1, 'two']);
        if (final === 'websocket' && manager.engine.transport.name !== 'websocket')
          await once(manager.engine, 'upgrade', 'error');
        assert.equal(manager.engine.transport.name, final);
      } finally {
        socket.disconnect();
        manager.engine?.close();
      }
    });
  }

  test('what a handler learns of the session is what the client negotiated; no certificate asked', async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
      const first = await tlsGet(server.port, { maxVersion, ALPNProtocols: ['http/1.1'] });
      assert.match(first.head, /^HTTP\/1\.1 200/);
      assert.deepEqual(first.answer.info, { protocol: first.protocol, cipher: first.cipher,
        servername: 'localhost', alpnProtocol: 'http/1.1', reused: false });
      assert.equal(first.protocol, maxVersion);
      assert.equal(first.answer.peer, null);
      assert.equal(first.answer.peer_rc, -2); // -ENOENT: no CA file, so no certificate was asked for
      assert.ok(first.ticket, 'a session ticket');
      const again = await tlsGet(server.port, { maxVersion, session: first.ticket, servername: 'localhost' });
      assert.equal(again.reused, true);
      assert.deepEqual(again.answer.info, { protocol: maxVersion, cipher: again.cipher,
        servername: 'localhost', alpnProtocol: '', reused: true });
    }
  });

  test('curl over https: keep-alive, HEAD, 304, the client bundle', async () => {
    const url = `https://localhost:${server.port}/socket.io/socket.io.js`;
    const out = curl('-D', '-', '-o', '/dev/null', url, '-o', '/dev/null', url, '-w', '%{num_connects}\\n');
    assert.equal(out.match(/HTTP\/1\.1 200/g).length, 2);
    assert.match(out.trim().split('\n').pop(), /^0$/); // the second request reused the connection
    const head = curl('-I', url);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /content-length: \d+/i);
    const etag = /etag: (\S+)/i.exec(head)[1];
    const cond = curl('-D', '-', '-o', '/dev/null', '-H', `If-None-Match: ${etag}`, url);
    assert.match(cond, /^HTTP\/1\.1 304/);
  });

  test('pipelined requests over one TLS connection are answered in order', async () => {
    const req = (n) => `GET /socket.io/?EIO=4&transport=polling&n=${n} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const got = await withTimeout(new Promise((resolve, reject) => {
      const sock = tls.connect({ port: server.port, host: '127.0.0.1', servername: 'localhost',
        ca: readFileSync(f('ca.pem')) }, () => sock.end(req(1) + req(2) + req(3)));
      let s = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => { s += d; });
      sock.on('end', () => resolve(s));
      sock.on('error', reject);
    }), budget(5000), 'pipelined requests');
    assert.equal(got.match(/HTTP\/1\.1 200 OK/g).length, 3);
    assert.equal(got.match(/"sid":/g).length, 3);
  });

  test('ALPN: http/1.1 is chosen; TLS 1.2 and 1.3 both work', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3']) {
      const info = await withTimeout(new Promise((resolve, reject) => {
        const sock = tls.connect({ port: server.port, host: '127.0.0.1', servername: 'localhost',
          ca: readFileSync(f('ca.pem')), ALPNProtocols: ['h2', 'http/1.1'], maxVersion }, () => {
          resolve({ alpn: sock.alpnProtocol, version: sock.getProtocol() });
          sock.end();
        });
        sock.on('error', reject);
      }), budget(5000), 'TLS connect');
      assert.equal(info.alpn, 'http/1.1');
      assert.equal(info.version, maxVersion);
    }
  });

  test('session resumption: a ticket from one connection resumes the next (openssl s_client, TLS 1.2 and 1.3)', async () => {
    const req = 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
    for (const version of ['-tls1_2', '-tls1_3']) {
      const sess = f(`session${version}.pem`);
      const sClient = (...extra) => {
        const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`,
          '-servername', 'localhost', '-CAfile', f('ca.pem'), version, '-ign_eof', ...extra],
        { input: req, encoding: 'latin1', timeout: budget(10000) });
        return r.stdout;
      };
      const first = sClient('-sess_out', sess);
      assert.match(first, /^New, TLSv1\.[23]/m, first);
      assert.match(first, /"sid":/);
      const second = sClient('-sess_in', sess);
      assert.match(second, /^Reused, TLSv1\.[23]/m, `${version}: ${second}`);
      assert.match(second, /"sid":/); // the resumed connection serves as the first did
    }
  });

  test('plain HTTP on the TLS port gets a clear-text 400 and a close', async () => {
    const got = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(got, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(got, /The plain HTTP request was sent to HTTPS port/);
  });

  test('a failed handshake or garbage costs a close, the server goes on', async () => {
    await rawExchange(server.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    await rawExchange(server.port, Buffer.alloc(3000, 0xff));
    const untrusted = await new Promise((resolve) => {
      const sock = tls.connect({ port: server.port, host: '127.0.0.1', servername: 'localhost' });
      sock.on('error', (e) => resolve(e.code));
      sock.on('secureConnect', () => resolve('connected'));
    });
    assert.match(untrusted, /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
    assert.match(curl(`https://localhost:${server.port}/socket.io/?EIO=4&transport=polling`), /"sid"/);
    assert.ok(server.alive());
  });
});

describe('TLS: client certificates required', { skip }, () => {
  let server;
  before(async () => {
    makeCertificates();
    server = await startTls(['--tls-ca', f('ca.pem')]);
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a client certificate signed by the CA gets in (socket.io-client over wss)', async () => {
    const { manager, socket } = connect(server.port, {
      transports: ['websocket'], cert: readFileSync(f('client.pem')), key: readFileSync(f('client.key')),
    });
    try {
      await once(socket, 'connect');
    } finally {
      socket.disconnect();
      manager.engine?.close();
    }
  });

  test('the client certificate as Node reads it: GET /tls, and the Socket.IO handshake over polling and wss', async () => {
    const alice = nodeView(f('client.pem'));
    assert.equal(alice.CN, 'alice');
    const client = { cert: readFileSync(f('client.pem')), key: readFileSync(f('client.key')) };
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
      const got = await tlsGet(server.port, { maxVersion, ...client });
      assert.equal(got.answer.peer_rc, 0);
      assert.deepEqual(got.answer.peer, alice);
    }
    for (const opts of [{ transports: ['polling'], upgrade: false }, { transports: ['websocket'] }]) {
      const { manager, socket } = connect(server.port, { ...opts, ...client });
      try {
        await once(socket, 'connect');
        const [peer, rc] = await withTimeout(new Promise((resolve) =>
          socket.emit('tls-peer', (...a) => resolve(a))), budget(5000), 'tls-peer ack');
        assert.equal(rc, 0);
        assert.deepEqual(peer, alice);
      } finally {
        socket.disconnect();
        manager.engine?.close();
      }
    }
  });

  test('no client certificate: refused', async () => {
    const r = spawnSync('curl', ['-sS', '--cacert', f('ca.pem'),
      `https://localhost:${server.port}/socket.io/?EIO=4&transport=polling`], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    const ok = spawnSync('curl', ['-sS', '--cacert', f('ca.pem'), '--cert', f('client.pem'), '--key',
      f('client.key'), `https://localhost:${server.port}/socket.io/?EIO=4&transport=polling`], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /"sid"/);
  });
});

describe('TLS: client certificates checked by the handler (accept_unverified_client_certs)', { skip }, () => {
  let server;
  before(async () => {
    makeCertificates();
    // mallory: self-signed, so not the CA's
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f('mallory.key'), '-out', f('mallory.pem'), '-days', '2', '-subj', '/CN=mallory');
    server = await startTls(['--tls-ca', f('ca.pem'), '--tls-accept-unverified']);
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** What Node's own TLS server says of this client certificate, with the same CA. */
  function nodeVerdict(cert, key) {
    return withTimeout(new Promise((resolve, reject) => {
      const srv = tls.createServer({ cert: readFileSync(f('server.pem')), key: readFileSync(f('server.key')),
        ca: readFileSync(f('ca.pem')), requestCert: true, rejectUnauthorized: false }, (sock) => {
        resolve({ authorized: sock.authorized, authorizationError: sock.authorizationError ?? null });
        sock.end();
        srv.close();
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = tls.connect({ port: srv.address().port, host: '127.0.0.1', servername: 'localhost',
          ca: readFileSync(f('ca.pem')), cert, key }, () => c.end());
        c.on('error', () => {});
      });
      srv.on('error', reject);
    }), budget(5000), 'the Node TLS server');
  }

  test('a certificate from elsewhere gets in, and authorized/authorizationError say what Node says', async () => {
    for (const name of ['client', 'mallory']) {
      const cert = readFileSync(f(`${name}.pem`)), key = readFileSync(f(`${name}.key`));
      const node = await nodeVerdict(cert, key);
      const got = await tlsGet(server.port, { cert, key });
      assert.equal(got.answer.peer_rc, 0);
      assert.equal(got.answer.peer.CN, name === 'client' ? 'alice' : 'mallory');
      assert.deepEqual({ authorized: got.answer.peer.authorized, authorizationError: got.answer.peer.authorizationError }, node);
      assert.equal(node.authorized, name === 'client');
    }
  });
});

describe('TLS: SNI, a plain listener redirecting to https, HSTS, reload on SIGHUP', { skip }, () => {
  let server;
  let plainPort;
  before(async () => {
    makeCertificates();
    for (const [name, cn] of [['other', 'other.test'], ['reloaded', 'localhost']]) {
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}/O=${name}`);
      writeFileSync(f(`${name}.ext`), `subjectAltName=DNS:${cn},IP:127.0.0.1\n`);
      openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
        '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
    }
    writeFileSync(f('live.pem'), readFileSync(f('server.pem')));
    writeFileSync(f('live.key'), readFileSync(f('server.key')));
    const port = await freePort();
    server = await startServer({
      command: target.command,
      args: [...target.args(port), '--tls-cert', f('live.pem'), '--tls-key', f('live.key'),
        '--tls-sni', `other.test:${f('other.pem')}:${f('other.key')}`,
        '--tls-plain-port', 'any', '--tls-redirect', '--hsts', '31536000'],
      port,
    });
    for (let i = 0; i < 50 && !/plain port \d+/.test(server.stdout); i++) await new Promise((r) => setTimeout(r, 20));
    plainPort = Number(/plain port (\d+)/.exec(server.stdout)[1]);
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The subject of the certificate the server presents for `servername`. */
  function subjectFor(servername) {
    return withTimeout(new Promise((resolve, reject) => {
      const sock = tls.connect({ port: server.port, host: '127.0.0.1', servername,
        ca: readFileSync(f('ca.pem')) }, () => {
        resolve(sock.getPeerCertificate().subject);
        sock.end();
      });
      sock.on('error', reject);
    }), budget(5000), `TLS connect for ${servername}`);
  }

  test('SNI: each name gets its certificate, others the default', async () => {
    assert.equal((await subjectFor('other.test')).CN, 'other.test');
    assert.equal((await subjectFor('localhost')).CN, 'localhost');
    const named = await tlsGet(server.port, { servername: 'other.test', checkServerIdentity: () => undefined });
    assert.equal(named.answer.info.servername, 'other.test');
  });

  test('plain HTTP on the other port: 301 (GET) and 308 (POST) to the same URL on https', async () => {
    const get = spawnSync('curl', ['-sS', '-D', '-', '-o', '/dev/null',
      `http://127.0.0.1:${plainPort}/socket.io/socket.io.js?v=1`], { encoding: 'utf8' });
    assert.match(get.stdout, /^HTTP\/1\.1 301/);
    assert.match(get.stdout, new RegExp(`location: https://127\\.0\\.0\\.1:${server.port}/socket\\.io/socket\\.io\\.js\\?v=1\\r`, 'i'));
    const post = spawnSync('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-X', 'POST',
      `http://127.0.0.1:${plainPort}/x`], { encoding: 'utf8' });
    assert.match(post.stdout, /^HTTP\/1\.1 308/);
    const followed = curl('-L', `http://localhost:${plainPort}/socket.io/?EIO=4&transport=polling`);
    assert.match(followed, /"sid"/);
  });

  test('HSTS on answers over TLS, not on the plain port', async () => {
    const secure = curl('-D', '-', '-o', '/dev/null', `https://localhost:${server.port}/socket.io/?EIO=4&transport=polling`);
    assert.match(secure, /strict-transport-security: max-age=31536000\r/i);
    const plain = spawnSync('curl', ['-sS', '-D', '-', '-o', '/dev/null', `http://127.0.0.1:${plainPort}/`], { encoding: 'utf8' });
    assert.doesNotMatch(plain.stdout, /strict-transport-security/i);
  });

  test('SIGHUP reloads the certificate; an open wss connection goes on', async () => {
    const { manager, socket } = connect(server.port, { transports: ['websocket'] });
    try {
      await once(socket, 'connect');
      assert.equal((await subjectFor('localhost')).O, undefined);
      writeFileSync(f('live.pem'), readFileSync(f('reloaded.pem')));
      writeFileSync(f('live.key'), readFileSync(f('reloaded.key')));
      process.kill(server.pid, 'SIGHUP');
      let subject;
      for (let i = 0; i < 50; i++) {
        subject = await subjectFor('localhost');
        if (subject.O === 'reloaded') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(subject.O, 'reloaded');
      const back = once(socket, 'message-back');
      socket.emit('message', 'still here');
      assert.deepEqual(await back, ['still here']);
    } finally {
      socket.disconnect();
      manager.engine?.close();
    }
  });
});

describe('TLS: socket.handshake.secure', { skip }, () => {
  let server;
  before(async () => {
    makeCertificates();
    const port = await freePort();
    server = await startServer({
      command: path.join(BIN_DIR, 'handshake'),
      args: ['--port', String(port), '--tls-cert', f('server.pem'), '--tls-key', f('server.key')],
      port,
    });
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  // Node: secure is !!req.connection.encrypted of the handshake request (false over plain
  // HTTP: tests/interop/io-handshake.test.mjs compares that with Node's).
  for (const [name, opts] of [
    ['wss', { transports: ['websocket'] }],
    ['https polling', { transports: ['polling'], upgrade: false }],
  ]) {
    test(`is true over ${name}`, async () => {
      const { manager, socket } = connect(server.port, opts);
      try {
        await once(socket, 'connect');
        const hs = await withTimeout(socket.emitWithAck('handshake'), budget(5000), 'handshake');
        assert.equal(hs.secure, true);
        assert.equal(hs.xdomain, false);
        assert.match(hs.url, /^\/socket\.io\/\?/);
      } finally {
        socket.disconnect();
        manager.engine?.close();
      }
    });
  }
});
