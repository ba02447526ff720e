// sio-server (issue 17): the standalone server driven as a backend and its clients would.
// Backends publish with curl and with the Python client (server/clients/sio_publish.py,
// python3's standard library only); the receivers are npm socket.io-client clients. Covered:
// --help and --check-config (errors with line and key), the publish API (emit, batch,
// rooms/except, sockets join/leave/disconnect, listings), bearer tokens (401), limits (413),
// the per-token rate limit (429 + Retry-After), CORS, /metrics checked against the traffic
// sent, client auth by JWT (HS256 and RS256 with throwaway openssl keys; expired, forged and
// alg-confused tokens refused) and by the auth hook (admitted with rooms, refused, timed out),
// the webhook (batched, retried after a failure), SIGHUP reload of the tokens, JSON logs, and
// Redis: @socket.io/redis-emitter and the API of a second sio-server reaching clients; TLS
// (--tls-cert/--tls-key: curl and Python publish over HTTPS to a wss client; SIGHUP serves a new
// certificate to new connections, and a bad one keeps the old).

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHmac, createSign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN_DIR, SOURCE_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { budget, nextEvent as nextArgs, sleep } from './lib/timeouts.mjs';

/** The first argument of the next `event` on c. */
const nextEvent = async (c, event, ms) => (await nextArgs(c, event, ms))[0];

const require = createRequire(import.meta.url);
const { io: ioc } = require('socket.io-client');
const execFileP = promisify(execFile);

const BIN = path.join(BIN_DIR, 'sio-server');
const PY = path.join(SOURCE_DIR, 'server', 'clients', 'sio_publish.py');
const skip = existsSync(BIN) ? false : `${BIN} is not built`;
const TOKEN = 't0ken-' + process.pid;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sio-server-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function start(args, env) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startServer({ command: BIN, args: ['--host', '127.0.0.1', '--port', String(port), ...args], port, env });
    } catch (e) {
      if (attempt >= 2 || !/exited during startup/.test(e.message)) throw e;
    }
  }
}

async function api(server, method, p, body, { token = TOKEN, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(server.url + p, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* left null */ }
  return { status: res.status, json, text, headers: res.headers };
}

const clients = [];
function client(server, opts = {}) {
  const { nsp = '/', ...rest } = opts;
  const c = ioc(server.url + nsp, { transports: ['websocket'], reconnection: false, forceNew: true, ...rest });
  clients.push(c);
  return c;
}
/** Resolves {connected: true} or the connect_error (whichever comes first). */
function outcome(c) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('neither connect nor connect_error')), budget(5000));
    c.once('connect', () => { clearTimeout(t); resolve({ connected: true, message: 'CONNECTED' }); });
    c.once('connect_error', (e) => { clearTimeout(t); resolve(e); });
  });
}
async function connected(c) {
  if (c.connected) return c;
  const r = await outcome(c);
  if (!r.connected) throw r;
  return c;
}
function closeAll() { while (clients.length) clients.pop().close(); }

/** Resolves with the event's args, or null if none came within ms. */
function maybe(c, event, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => { c.off(event, on); resolve(null); }, ms);
    function on(...a) { clearTimeout(t); resolve(a); }
    c.once(event, on);
  });
}

async function metrics(server) {
  const text = await (await fetch(server.url + '/metrics')).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

describe('sio-server: command line and configuration', { skip }, () => {
  test('--help lists every option with its default', () => {
    const out = execFileSync(BIN, ['--help'], { encoding: 'utf8' });
    for (const opt of ['--port N', '--host', '--tls-cert', '--tls-key', '--tls-ca', '--tls-key-passphrase-file', '--cors-origins', '--path', '--ping-interval',
      '--ping-timeout', '--connect-timeout', '--max-payload', '--static', '--namespaces', '--recovery', '--workers',
      '--redis ', '--redis-sharded', '--tokens', '--jwt-alg', '--jwt-secret', '--jwt-key-file', '--auth-hook',
      '--webhook ', '--api-rate', '--api-max-body', '--api-max-batch', '--log-format', '--check-config']) {
      assert.ok(out.includes(opt), `--help lacks ${opt}`);
    }
    assert.match(out, /--port N .*\[default: 3000\]/);
    assert.match(out, /--ping-interval N .*\[default: 25000\]/);
    assert.match(out, /--path STR .*\[default: \/socket\.io\/\]/);
  });

  function check(name, text) {
    const f = path.join(tmp, name);
    writeFileSync(f, text);
    try {
      const out = execFileSync(BIN, ['--check-config', f], { encoding: 'utf8', stdio: 'pipe' });
      return { code: 0, out };
    } catch (e) {
      return { code: e.status, out: e.stderr.toString() };
    }
  }

  test('--check-config accepts a good file and names the line and key of each error', () => {
    assert.equal(check('good.json', '{\n  "port": 4000,\n  "tokens": ["a", "b"],\n  "namespaces": "/, /chat"\n}\n').code, 0);
    let r = check('type.json', '{\n  "port": 4000,\n  "ping_interval": "soon"\n}\n');
    assert.equal(r.code, 2);
    assert.match(r.out, /type\.json:3: key "ping_interval": expected an integer/);
    r = check('unknown.json', '{\n\n  "prot": 4000\n}\n');
    assert.match(r.out, /unknown\.json:3: key "prot": unknown option/);
    r = check('range.json', '{"port": 70000}');
    assert.match(r.out, /range\.json:1: key "port": 70000 is out of range/);
    r = check('syntax.json', '{\n  "port": 4000,\n  "host" "x"\n}\n');
    assert.match(r.out, /syntax\.json:3:\d+: /);
    r = check('list.json', '{\n  "tokens": ["a", 3]\n}');
    assert.match(r.out, /list\.json:2: key "tokens": item 1 is not a string/);
    r = check('jwt.json', '{\n  "jwt_alg": "RS256"\n}');
    assert.match(r.out, /key "jwt_key_file": RS256 needs/);
    r = check('dup.json', '{"port": 1, "port": 2}');
    assert.match(r.out, /dup\.json:1:\d+: duplicate object key/);
  });

  test('a bad flag is refused with the option named', () => {
    assert.throws(() => execFileSync(BIN, ['--ping-interval', 'x'], { stdio: 'pipe' }), (e) => /key "ping_interval": "x" is not an integer/.test(e.stderr));
    assert.throws(() => execFileSync(BIN, ['--nope'], { stdio: 'pipe' }), (e) => /unknown option --nope/.test(e.stderr));
  });
});

describe('sio-server: publish API', { skip }, () => {
  let server;
  before(async () => {
    server = await start(['--token', TOKEN, '--token', 'other', '--api-max-body', '2000', '--api-max-batch', '5',
      '--cors-origins', 'http://app.example', '--namespaces', '/,/chat']);
  });
  after(async () => { closeAll(); await stopAndCheck(server); });

  test('no token, a wrong token or a non-bearer header: 401 with a JSON reason', async () => {
    let r = await api(server, 'POST', '/api/emit', { event: 'x' }, { token: null });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'unauthorized');
    assert.match(r.json.reason, /missing Authorization/);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    r = await api(server, 'POST', '/api/emit', { event: 'x' }, { token: 'nope' });
    assert.equal(r.status, 401);
    assert.equal(r.json.reason, 'unknown token');
    r = await api(server, 'GET', '/api/rooms', undefined, { token: null, headers: { Authorization: 'Basic eDp5' } });
    assert.equal(r.status, 401);
  });

  test('emit reaches the room, not the others; except; another namespace', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => connected(client(server))));
    const chat = await connected(client(server, { nsp: '/chat' }));
    let r = await api(server, 'POST', '/api/sockets/join', { rooms: [a.id, b.id], room: 'london' });
    assert.equal(r.status, 200, r.text);
    const got = [nextEvent(a, 'alert'), nextEvent(b, 'alert')];
    const none = maybe(c, 'alert', 300);
    r = await api(server, 'POST', '/api/emit', { rooms: ['london'], event: 'alert', args: [{ level: 3 }, 'gale', 12345678901234] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ok: true, emitted: 1, failed: 0, recipients: 2 });
    for (const first of await Promise.all(got)) assert.deepEqual(first, { level: 3 });
    assert.equal(await none, null);
    const onlyA = nextEvent(a, 'x');
    const notB = maybe(b, 'x', 300);
    r = await api(server, 'POST', '/api/emit', { rooms: 'london', except: [b.id], event: 'x', data: 1 });
    assert.equal(r.json.recipients, 1);
    assert.equal(await onlyA, 1);
    assert.equal(await notB, null);
    const inChat = nextEvent(chat, 'hello');
    const notMain = maybe(a, 'hello', 300);
    r = await api(server, 'POST', '/api/emit', { nsp: '/chat', event: 'hello', args: ['chat'] });
    assert.equal(r.json.recipients, 1);
    assert.equal(await inChat, 'chat');
    assert.equal(await notMain, null);
    r = await api(server, 'POST', '/api/emit', { nsp: '/nowhere', event: 'x' });
    assert.equal(r.status, 400);
    assert.match(r.json.reason, /unknown namespace/);
    closeAll();
  });

  test('batch: an array, /api/batch, in order; a bad item refuses the whole batch', async () => {
    const a = await connected(client(server));
    const seen = [];
    a.onAny((ev, v) => seen.push(`${ev}:${v}`));
    let r = await api(server, 'POST', '/api/emit', [{ event: 'n', data: 1 }, { event: 'n', data: 2 }]);
    assert.equal(r.json.emitted, 2);
    r = await api(server, 'POST', '/api/batch', { emits: [{ event: 'n', data: 3 }, { event: 'm', args: [4] }] });
    assert.equal(r.json.emitted, 2);
    r = await api(server, 'POST', '/api/batch', [{ event: 'n', data: 9 }, { event: 'connect' }]);
    assert.equal(r.status, 400);
    assert.match(r.json.reason, /emit 1: "event" is a reserved name/);
    r = await api(server, 'POST', '/api/batch', [{ event: 'n', data: 9 }, { rooms: 5, event: 'x' }]);
    assert.match(r.json.reason, /emit 1: "rooms" must be/);
    r = await api(server, 'POST', '/api/batch', Array.from({ length: 6 }, () => ({ event: 'n' })));
    assert.equal(r.status, 413);
    assert.equal(r.json.error, 'batch_too_large');
    await sleep(200);
    assert.deepEqual(seen, ['n:1', 'n:2', 'n:3', 'm:4']);
    closeAll();
  });

  test('limits and bad requests: 413, 400 with the JSON error position, 404, 405', async () => {
    let r = await api(server, 'POST', '/api/emit', { event: 'x', data: 'y'.repeat(3000) });
    assert.equal(r.status, 413);
    assert.equal(r.json.error, 'body_too_large');
    r = await api(server, 'POST', '/api/emit', '{"event": "x",\n "args": [1,}');
    assert.equal(r.status, 400);
    assert.match(r.json.reason, /invalid JSON at line 2, column \d+/);
    r = await api(server, 'POST', '/api/emit', { args: [] });
    assert.match(r.json.reason, /"event" must be a non-empty string/);
    r = await api(server, 'POST', '/api/emit', { event: 'x', args: 3 });
    assert.match(r.json.reason, /"args" must be an array/);
    r = await api(server, 'GET', '/api/emit');
    assert.equal(r.status, 405);
    r = await api(server, 'GET', '/api/whatever');
    assert.equal(r.status, 404);
  });

  test('sockets: join, leave, list by room, rooms, disconnect', async () => {
    const a = await connected(client(server, { auth: { name: 'a' } }));
    const b = await connected(client(server));
    let r = await api(server, 'POST', '/api/sockets/join', { rooms: a.id, room: ['vip', 'x'] });
    assert.equal(r.status, 200);
    r = await api(server, 'GET', '/api/sockets?room=vip');
    assert.deepEqual(r.json.sockets.map((s) => s.id), [a.id]);
    assert.deepEqual(r.json.sockets[0].rooms.sort(), [a.id, 'vip', 'x'].sort());
    assert.deepEqual(r.json.sockets[0].handshake.auth, { name: 'a' });
    r = await api(server, 'GET', '/api/rooms');
    assert.deepEqual(r.json.rooms, ['vip', 'x']);
    await api(server, 'POST', '/api/sockets/leave', { room: 'x' });
    r = await api(server, 'GET', '/api/rooms');
    assert.deepEqual(r.json.rooms, ['vip']);
    r = await api(server, 'GET', '/api/sockets');
    assert.equal(r.json.count, 2);
    const gone = nextEvent(b, 'disconnect');
    r = await api(server, 'POST', '/api/sockets/disconnect', { except: 'vip' });
    assert.equal(r.status, 200);
    assert.equal(await gone, 'io server disconnect');
    assert.equal(a.connected, true);
    r = await api(server, 'POST', '/api/sockets/join', { room: 3 });
    assert.equal(r.status, 400);
    closeAll();
  });

  test('CORS on the API: preflight answered for a listed origin, not for another', async () => {
    let res = await fetch(server.url + '/api/emit', { method: 'OPTIONS', headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
    res = await fetch(server.url + '/api/emit', { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const r = await api(server, 'POST', '/api/emit', { event: 'x' }, { headers: { Origin: 'http://app.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://app.example');
  });

  test('curl and the Python client (standard library) publish to Node clients', async () => {
    const a = await connected(client(server));
    await api(server, 'POST', '/api/sockets/join', { rooms: a.id, room: 'py' });
    const fromCurl = nextEvent(a, 'curl');
    const { stdout } = await execFileP('curl', ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`,
      '-H', 'Content-Type: application/json', '-d', '{"event":"curl","args":["hi",1]}', `${server.url}/api/emit`]);
    assert.equal(JSON.parse(stdout).recipients, 1);
    assert.equal(await fromCurl, 'hi');
    const fromPy = nextEvent(a, 'news');
    let out = await execFileP('python3', [PY, server.url, TOKEN, 'emit', 'news', '[{"title":"é"}]', '--rooms', 'py']);
    assert.equal(JSON.parse(out.stdout).recipients, 1);
    assert.deepEqual(await fromPy, { title: 'é' });
    const batch = [nextEvent(a, 'b1'), nextEvent(a, 'b2')];
    out = await execFileP('python3', [PY, server.url, TOKEN, 'batch', '[{"event":"b1","data":1},{"event":"b2","data":2}]']);
    assert.equal(JSON.parse(out.stdout).emitted, 2);
    assert.deepEqual(await Promise.all(batch), [1, 2]);
    out = await execFileP('python3', [PY, server.url, TOKEN, 'sockets', 'py']);
    assert.deepEqual(JSON.parse(out.stdout).sockets.map((s) => s.id), [a.id]);
    await assert.rejects(execFileP('python3', [PY, server.url, 'bad', 'rooms']), (e) => e.code === 1 && JSON.parse(e.stdout).status === 401);
    closeAll();
  });

  test('/metrics counts the traffic sent: connects, disconnects by reason, fan-out, packets, API', async () => {
    const m0 = await metrics(server);
    const cs = await Promise.all([0, 1, 2].map(() => connected(client(server))));
    const all = cs.map((c) => new Promise((resolve) => { let n = 0; c.on('m', () => { if (++n === 4) resolve(); }); }));
    for (let i = 0; i < 4; i++) await api(server, 'POST', '/api/emit', { event: 'm', data: i });
    await Promise.all(all);
    cs[0].emit('from-client', 'x');
    closeAll();
    await sleep(300);
    const m1 = await metrics(server);
    const d = (k) => (m1[k] || 0) - (m0[k] || 0);
    assert.equal(d('sio_connects_total'), 3);
    assert.equal(d('sio_disconnects_total{reason="client namespace disconnect"}'), 3);
    assert.equal(d('sio_broadcasts_total'), 4);
    assert.equal(d('sio_broadcast_recipients_total'), 12);
    assert.equal(d('sio_packets_out_total'), 12);
    assert.equal(d('sio_bytes_out_total'), 12 * '42["m",0]'.length);
    assert.equal(d('sio_api_emits_total'), 4);
    assert.equal(d('sio_api_requests_total{code="2xx"}'), 4);
    assert.ok(d('sio_messages_in_total') >= 3 + 1 + 3, 'connects, the event and the disconnects were counted');
    assert.equal(m1.sio_clients, 0);
    assert.ok('sio_event_loop_lag_seconds' in m1 && 'sio_volatile_dropped_total' in m1 && 'sio_send_buffer_full_total' in m1);
    const h = await (await fetch(server.url + '/healthz')).json();
    assert.equal(h.status, 'ok');
    assert.equal(h.redis, 'off');
  });
});

describe('sio-server: rate limit, reload, JSON logs', { skip }, () => {
  let server;
  const conf = path.join(tmp, 'reload.json');
  before(async () => {
    writeFileSync(conf, JSON.stringify({ tokens: ['first'], api_rate: 2, api_burst: 2 }));
    server = await start(['--config', conf, '--log-format', 'json']);
  });
  after(async () => { closeAll(); await stopAndCheck(server); });

  test('a token past its rate gets 429 with Retry-After, and may go on once the bucket refills', async () => {
    const codes = [];
    let last;
    for (let i = 0; i < 3; i++) {
      last = await api(server, 'GET', '/api/rooms', undefined, { token: 'first' });
      codes.push(last.status);
    }
    assert.deepEqual(codes, [200, 200, 429]);
    assert.equal(last.json.error, 'rate_limited');
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    await sleep(600);
    assert.equal((await api(server, 'GET', '/api/rooms', undefined, { token: 'first' })).status, 200);
  });

  test('SIGHUP reloads the tokens from the file', async () => {
    writeFileSync(conf, JSON.stringify({ tokens: ['second'], api_rate: 100 }));
    process.kill(server.pid, 'SIGHUP');
    const deadline = Date.now() + budget(3000);
    let r;
    do {
      await sleep(50);
      r = await api(server, 'GET', '/api/rooms', undefined, { token: 'second' });
    } while (r.status !== 200 && Date.now() < deadline);
    assert.equal(r.status, 200);
    assert.equal((await api(server, 'GET', '/api/rooms', undefined, { token: 'first' })).status, 401);
    writeFileSync(conf, '{"tokens": ["third"], "api_rate": "x"}');
    process.kill(server.pid, 'SIGHUP');
    await sleep(300);
    assert.equal((await api(server, 'GET', '/api/rooms', undefined, { token: 'second' })).status, 200, 'a bad file keeps the old configuration');
    assert.match(server.stderr, /not reloaded/);
  });

  test('--log-format json writes one JSON object per line', () => {
    const lines = server.stderr.trim().split('\n').filter(Boolean);
    assert.ok(lines.length >= 2);
    for (const l of lines) {
      const o = JSON.parse(l);
      assert.ok(o.time && o.level && typeof o.msg === 'string', l);
    }
  });
});

// --- client auth ---------------------------------------------------------------------------------

const b64u = (b) => Buffer.from(b).toString('base64url');
function jwt(alg, key, claims) {
  const head = b64u(JSON.stringify({ alg, typ: 'JWT' }));
  const body = b64u(JSON.stringify(claims));
  const data = `${head}.${body}`;
  let sig;
  if (alg === 'HS256') sig = createHmac('sha256', key).update(data).digest();
  else sig = createSign('RSA-SHA256').update(data).sign(key);
  return `${data}.${b64u(sig)}`;
}
const now = () => Math.floor(Date.now() / 1000);

const refusal = (c) => outcome(c);

describe('sio-server: client auth by JWT', { skip }, () => {
  let hs;
  let rs;
  let priv;
  let pub;
  before(async () => {
    priv = path.join(tmp, 'priv.pem');
    pub = path.join(tmp, 'pub.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', priv], { stdio: 'pipe' });
    execFileSync('openssl', ['pkey', '-in', priv, '-pubout', '-out', pub], { stdio: 'pipe' });
    hs = await start(['--token', TOKEN, '--jwt-alg', 'HS256', '--jwt-secret', 'sekrit']);
    rs = await start(['--token', TOKEN, '--jwt-alg', 'RS256', '--jwt-key-file', pub, '--jwt-rooms-claim', 'channels']);
  });
  after(async () => { closeAll(); await stopAndCheck(hs); await stopAndCheck(rs); });

  test('HS256: a valid token connects and joins the rooms of its claim; its claims are socket.data', async () => {
    const c = await connected(client(hs, { auth: { token: jwt('HS256', 'sekrit', { sub: 'u1', rooms: ['team-a', 'all'], exp: now() + 60 }) } }));
    const got = nextEvent(c, 'team');
    const r = await api(hs, 'POST', '/api/emit', { rooms: 'team-a', event: 'team', data: 'go' });
    assert.equal(r.json.recipients, 1);
    assert.equal(await got, 'go');
    const list = await api(hs, 'GET', '/api/sockets?room=all');
    assert.equal(list.json.sockets[0].data.sub, 'u1');
  });

  test('HS256: no token, a wrong signature, an expired token, alg none: CONNECT_ERROR', async () => {
    assert.equal((await refusal(client(hs))).message, 'missing token (auth.token)');
    assert.equal((await refusal(client(hs, { auth: { token: jwt('HS256', 'wrong', { sub: 'x' }) } }))).message, 'invalid token');
    assert.equal((await refusal(client(hs, { auth: { token: jwt('HS256', 'sekrit', { exp: now() - 10 }) } }))).message, 'token expired');
    assert.equal((await refusal(client(hs, { auth: { token: 'not.a.jwt' } }))).message, 'invalid token');
    const none = `${b64u('{"alg":"none","typ":"JWT"}')}.${b64u('{"sub":"x"}')}.`;
    assert.notEqual((await refusal(client(hs, { auth: { token: none } }))).message, 'CONNECTED');
    const m = await metrics(hs);
    assert.ok(m.sio_auth_refused_total >= 5);
  });

  test('RS256: signed by the private key connects (rooms from the "channels" claim); HS256 with the public key is refused', async () => {
    const { readFileSync } = await import('node:fs');
    const key = readFileSync(priv, 'utf8');
    const c = await connected(client(rs, { auth: { token: jwt('RS256', key, { sub: 'r', channels: 'ops' }) } }));
    const got = nextEvent(c, 'ops');
    await api(rs, 'POST', '/api/emit', { rooms: 'ops', event: 'ops', data: 1 });
    assert.equal(await got, 1);
    const confused = jwt('HS256', readFileSync(pub), { sub: 'evil' });
    assert.equal((await refusal(client(rs, { auth: { token: confused } }))).message, 'token algorithm not accepted');
    closeAll();
  });
});

function backend(handler) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => handler(req, res, body));
    });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `http://127.0.0.1:${srv.address().port}` }));
  });
}

describe('sio-server: auth hook and webhook', { skip }, () => {
  let hook;
  let hooked;
  let calls = [];
  let events = [];
  let failNext = 1;
  let wh;
  before(async () => {
    hook = await backend((req, res, body) => {
      const b = JSON.parse(body);
      calls.push(b);
      const who = b.handshake.auth.user;
      if (who === 'slow') return setTimeout(() => res.end('{}'), 2000);
      if (who === 'alice') {
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify({ rooms: ['alice-room'], data: { user: 'alice' } }));
      }
      res.statusCode = 403;
      res.end(JSON.stringify({ message: `no entry for ${who}` }));
    });
    wh = await backend((req, res, body) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        return res.end();
      }
      events.push(...JSON.parse(body).events);
      res.end('ok');
    });
    hooked = await start(['--token', TOKEN, '--auth-hook', `${hook.url}/auth`, '--auth-hook-timeout', '500',
      '--webhook', `${wh.url}/events`, '--webhook-interval', '50']);
  });
  after(async () => {
    closeAll();
    await stopAndCheck(hooked);
    hook.srv.close();
    wh.srv.close();
  });

  test('the hook admits once per connection, with rooms and data; refuses with its message; times out', async () => {
    const c = await connected(client(hooked, { auth: { user: 'alice' }, query: { q: '1' } }));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].nsp, '/');
    assert.equal(calls[0].id, c.id);
    assert.equal(calls[0].handshake.query.q, '1');
    const got = nextEvent(c, 'hi');
    await api(hooked, 'POST', '/api/emit', { rooms: 'alice-room', event: 'hi', data: 1 });
    assert.equal(await got, 1);
    c.emit('a');
    c.emit('b');
    assert.equal(calls.length, 1, 'events make no hook call');
    const list = await api(hooked, 'GET', '/api/sockets?room=alice-room');
    assert.deepEqual(list.json.sockets[0].data, { user: 'alice' });
    const bob = await refusal(client(hooked, { auth: { user: 'bob' } }));
    assert.equal(bob.message, 'no entry for bob');
    assert.deepEqual(bob.data, { status: 403 });
    const t0 = Date.now();
    assert.equal((await refusal(client(hooked, { auth: { user: 'slow' } }))).message, 'auth hook timeout');
    assert.ok(Date.now() - t0 < 1900);
  });

  test('client events reach the webhook in a batch, after a failed attempt is retried', async () => {
    const c = await connected(client(hooked, { auth: { user: 'alice' } }));
    events = [];
    failNext = 1;
    for (let i = 0; i < 5; i++) c.emit('chat', { i }, 'x');
    const deadline = Date.now() + budget(5000);
    while (events.filter((e) => e.socket === c.id).length < 5 && Date.now() < deadline) await sleep(50);
    const mine = events.filter((e) => e.socket === c.id);
    assert.deepEqual(mine.map((e) => e.args), [0, 1, 2, 3, 4].map((i) => [{ i }, 'x']));
    assert.ok(mine.every((e) => e.event === 'chat' && e.nsp === '/' && typeof e.time === 'number'));
    const m = await metrics(hooked);
    assert.ok(m.sio_webhook_failures_total >= 1);
    assert.ok(m.sio_webhook_requests_total >= 1);
    closeAll();
  });
});

describe('sio-server: Redis', { skip: skip || redisMissing() }, () => {
  let redis;
  let one;
  let two;
  before(async () => {
    redis = await startRedis();
    one = await start(['--token', TOKEN, '--redis', redis.url]);
    two = await start(['--token', TOKEN, '--redis', redis.url]);
  });
  after(async () => {
    closeAll();
    try { await stopAndCheck(one); await stopAndCheck(two); } finally { await redis.stop(); }
  });

  async function ready(server) {
    const deadline = Date.now() + budget(5000);
    while (Date.now() < deadline) {
      const h = await (await fetch(server.url + '/healthz')).json();
      if (h.redis === 'up') return;
      await sleep(50);
    }
    throw new Error('redis not up');
  }

  test('@socket.io/redis-emitter, unchanged, reaches clients of both servers; the API of one reaches the other', async () => {
    await ready(one);
    await ready(two);
    const a = await connected(client(one));
    const b = await connected(client(two));
    await api(one, 'POST', '/api/sockets/join', { rooms: a.id, room: 'r' });
    await api(two, 'POST', '/api/sockets/join', { rooms: b.id, room: 'r' });
    const { Emitter } = require('@socket.io/redis-emitter');
    const { createClient } = require('redis');
    const rc = createClient({ url: redis.url });
    await rc.connect();
    try {
      const emitter = new Emitter(rc);
      const got = [nextEvent(a, 'from-emitter'), nextEvent(b, 'from-emitter')];
      emitter.to('r').emit('from-emitter', { n: 1 });
      assert.deepEqual(await Promise.all(got), [{ n: 1 }, { n: 1 }]);
    } finally {
      await rc.disconnect();
    }
    const viaApi = nextEvent(b, 'api');
    const r = await api(one, 'POST', '/api/emit', { rooms: 'r', event: 'api', data: 2 });
    assert.equal(r.json.recipients, 1, 'one local recipient; the other is on the second server');
    assert.equal(await viaApi, 2);
    const list = await api(one, 'GET', '/api/sockets?room=r');
    assert.deepEqual(list.json.sockets.map((s) => s.id).sort(), [a.id, b.id].sort());
    closeAll();
  });
});

/** A self-signed certificate for 127.0.0.1 into dir/name.pem and dir/name.key (openssl). */
function selfSigned(dir, name, cn) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The CN of the certificate a new TLS connection to port is served. */
async function servedCN(port, ca) {
  const tls = await import('node:tls');
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => { const cn = s.getPeerCertificate().subject.CN; s.end(); resolve(cn); });
    s.on('error', reject);
  });
}

describe('sio-server: TLS', { skip }, () => {
  const dir = mkdtempSync(path.join(tmp, 'tls-'));
  const cert = path.join(dir, 'server.pem'), key = path.join(dir, 'server.key');
  let server, url;
  before(async () => {
    selfSigned(dir, 'one', 'sio-server-one');
    selfSigned(dir, 'two', 'sio-server-two');
    writeFileSync(cert, readFileSync(path.join(dir, 'one.pem')));
    writeFileSync(key, readFileSync(path.join(dir, 'one.key')));
    server = await start(['--token', TOKEN, '--tls-cert', cert, '--tls-key', key]);
    url = `https://127.0.0.1:${server.port}`;
  });
  after(async () => { closeAll(); await stopAndCheck(server); });

  test('curl and the Python client publish over HTTPS to a wss client', async () => {
    const ca = readFileSync(cert);
    const c = ioc(url, { transports: ['websocket'], reconnection: false, forceNew: true, ca });
    clients.push(c);
    await connected(c);
    const fromCurl = nextEvent(c, 'curl');
    const { stdout } = await execFileP('curl', ['-sS', '--cacert', cert, '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`,
      '-H', 'Content-Type: application/json', '-d', '{"event":"curl","data":"tls"}', `${url}/api/emit`]);
    assert.equal(JSON.parse(stdout).recipients, 1);
    assert.equal(await fromCurl, 'tls');
    const fromPy = nextEvent(c, 'py');
    const out = await execFileP('python3', [PY, url, TOKEN, 'emit', 'py', '[3]'], { env: { ...process.env, SSL_CERT_FILE: path.join(dir, 'one.pem') } });
    assert.equal(JSON.parse(out.stdout).recipients, 1);
    assert.equal(await fromPy, 3);
    closeAll();
  });

  test('SIGHUP serves the new certificate to new connections; a bad one keeps the old', async () => {
    assert.equal(await servedCN(server.port, readFileSync(path.join(dir, 'one.pem'))), 'sio-server-one');
    writeFileSync(cert, readFileSync(path.join(dir, 'two.pem')));
    writeFileSync(key, readFileSync(path.join(dir, 'two.key')));
    process.kill(server.pid, 'SIGHUP');
    const ca2 = readFileSync(path.join(dir, 'two.pem'));
    const deadline = Date.now() + budget(3000);
    let cn;
    do {
      await sleep(50);
      cn = await servedCN(server.port, ca2).catch(() => null);
    } while (cn !== 'sio-server-two' && Date.now() < deadline);
    assert.equal(cn, 'sio-server-two');
    assert.match(server.stderr, /TLS certificate reloaded/);
    writeFileSync(key, 'not a key\n');
    process.kill(server.pid, 'SIGHUP');
    const deadline2 = Date.now() + budget(3000);
    while (!/TLS certificate not reloaded/.test(server.stderr) && Date.now() < deadline2) await sleep(50);
    assert.match(server.stderr, /TLS certificate not reloaded/);
    assert.equal(await servedCN(server.port, ca2), 'sio-server-two', 'a bad key keeps the old certificate');
  });

  test('--tls-ca: a client certificate the CA signed gets in, none is refused; an encrypted key with --tls-key-passphrase-file', async () => {
    selfSigned(dir, 'device', 'device-7'); // self-signed: its own CA
    execFileSync('openssl', ['pkey', '-in', path.join(dir, 'one.key'), '-aes256', '-passout', 'pass:tide-42',
      '-out', path.join(dir, 'one-enc.key')], { stdio: 'ignore' });
    writeFileSync(path.join(dir, 'pass'), 'tide-42\n');
    writeFileSync(path.join(dir, 'wrong'), 'tide-43\n');
    const args = ['--tls-cert', path.join(dir, 'one.pem'), '--tls-key', path.join(dir, 'one-enc.key'),
      '--tls-ca', path.join(dir, 'device.pem')];
    const refused = spawnSync(BIN, ['--port', '0', ...args, '--tls-key-passphrase-file', path.join(dir, 'wrong')],
      { encoding: 'utf8', timeout: budget(10000) });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /wrong key_passphrase/);
    const noPass = spawnSync(BIN, ['--port', '0', ...args], { encoding: 'utf8', timeout: budget(10000) });
    assert.notEqual(noPass.status, 0);
    assert.match(noPass.stderr, /encrypted and no key_passphrase was given/);
    const mtls = await start([...args, '--tls-key-passphrase-file', path.join(dir, 'pass')]);
    try {
      const murl = `https://127.0.0.1:${mtls.port}`;
      const ca = readFileSync(path.join(dir, 'one.pem'));
      const c = ioc(murl, { transports: ['websocket'], reconnection: false, forceNew: true, ca,
        cert: readFileSync(path.join(dir, 'device.pem')), key: readFileSync(path.join(dir, 'device.key')) });
      clients.push(c);
      await connected(c);
      const bare = spawnSync('curl', ['-sS', '--cacert', path.join(dir, 'one.pem'), `${murl}/socket.io/?EIO=4&transport=polling`],
        { encoding: 'utf8', timeout: budget(10000) });
      assert.notEqual(bare.status, 0, 'no client certificate: the handshake fails');
      closeAll();
    } finally {
      await stopAndCheck(mtls);
    }
  });
});
