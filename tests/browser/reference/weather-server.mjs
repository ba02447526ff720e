// The Node twin of examples/weather: the storm-alert server written with npm express +
// socket.io, speaking exactly examples/weather/PROTOCOL.md and taking the same options.
//
// It exists so that the page (examples/weather/public) and the browser tests can be built and
// validated against the real Node stack, and so that the C server has a behaviour to match:
// the browser tests run against it with SIO_TEST_TARGET=reference.
//
// Usage: node weather-server.mjs [--port N] [--host ADDR] [--no-sim] [--sim-interval MS]
//                                [--summary-interval MS] [--quiet] [--help]

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../../package.json'));
const express = require('express');
const { Server } = require('socket.io');

const PUBLIC_DIR = path.resolve(here, '../../../examples/weather/public');

const CITIES = [
  ['london', 'London'], ['paris', 'Paris'], ['berlin', 'Berlin'], ['madrid', 'Madrid'],
  ['rome', 'Rome'], ['oslo', 'Oslo'], ['new-york', 'New York'], ['tokyo', 'Tokyo'],
].map(([id, name]) => ({ id, name }));
const SEVERITIES = ['minor', 'moderate', 'severe', 'extreme'];
const MAX_MESSAGE = 280;
const MAX_FOLLOW = 16;

const SIM_MESSAGES = {
  minor: ['Light rain spreading from the west', 'Patchy fog this evening', 'Breezy, gusts to 40 km/h'],
  moderate: ['Heavy showers with hail possible', 'Thunderstorms likely after 16:00', 'Icy patches on untreated roads'],
  severe: ['Gale force winds, gusts to 100 km/h', 'Flooding expected near rivers', 'Heavy snow, travel disruption likely'],
  extreme: ['Hurricane force winds: stay indoors', 'Flash floods: move to higher ground'],
};

function usage() {
  return `Usage: weather-server.mjs [options]
Storm alerts over Socket.IO (the Node twin of examples/weather).

  --port N               port to listen on (default 3000)
  --host ADDR            address to bind (default: all interfaces)
  --no-sim               turn the simulated alert feed off
  --sim-interval MS      mean time between simulated alerts (default 8000)
  --summary-interval MS  time between summary log lines (default 10000)
  --quiet                no log lines on stderr
  --help                 this text
`;
}

function parseArgs(argv) {
  const o = { port: 3000, host: undefined, sim: true, simInterval: 8000, summaryInterval: 10000, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) { process.stderr.write(`${a} needs a value\n${usage()}`); process.exit(2); }
      return argv[++i];
    };
    const num = (v, min) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) { process.stderr.write(`bad value for ${a}: ${v}\n`); process.exit(2); }
      return n;
    };
    if (a === '--port') o.port = num(value(), 0);
    else if (a === '--host') o.host = value();
    else if (a === '--no-sim') o.sim = false;
    else if (a === '--sim-interval') o.simInterval = num(value(), 1);
    else if (a === '--summary-interval') o.summaryInterval = num(value(), 1);
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--help' || a === '-h') { process.stdout.write(usage()); process.exit(0); }
    else { process.stderr.write(`unknown option: ${a}\n${usage()}`); process.exit(2); }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (line) => { if (!opts.quiet) process.stderr.write(`${new Date().toISOString()} ${line}\n`); };

/** The city id for a name a client sent (case-insensitive, space for '-'), or null. */
function cityId(name) {
  if (typeof name !== 'string') return null;
  const id = name.trim().toLowerCase().replace(/ /g, '-');
  return CITIES.some((c) => c.id === id) ? id : null;
}

function cleanMessage(m) {
  if (typeof m !== 'string') return { error: 'message must be a string' };
  const t = m.trim();
  if (t.length === 0) return { error: 'message is empty' };
  if ([...t].length > MAX_MESSAGE) return { error: `message is longer than ${MAX_MESSAGE} characters` };
  return { text: t };
}

const app = express();
const server = http.createServer(app);
const io = new Server(server);

let nextId = 1;
let messages = 0; // Socket.IO events in and out (each delivery counts), for the summary

const roomSize = (city) => io.sockets.adapter.rooms.get(city)?.size ?? 0;
const watcherCounts = (ids) => Object.fromEntries(ids.map((c) => [c, roomSize(c)]));

function announceWatchers(city) {
  const n = roomSize(city);
  messages += n;
  io.to(city).emit('watchers', { [city]: n });
}

function pushAlert(city, severity, message, source) {
  const alert = { id: nextId++, city, severity, message, time: new Date().toISOString(), source };
  const delivered = roomSize(city);
  io.to(city).emit('alert', alert);
  messages += delivered;
  log(`alert id=${alert.id} city=${city} severity=${severity} source=${source} delivered=${delivered} message=${JSON.stringify(message)}`);
  return { id: alert.id, delivered };
}

// Alert bodies are parsed as JSON whatever their Content-Type (curl -d sends a form type).
app.post('/api/alerts', express.json({ limit: '16kb', type: () => true }), (req, res) => {
  const b = req.body;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    return res.status(400).json({ error: 'body must be a JSON object {city, severity, message}' });
  }
  if (b.city === undefined) return res.status(400).json({ error: 'city is missing' });
  if (typeof b.city !== 'string') return res.status(400).json({ error: 'city must be a string' });
  const city = cityId(b.city);
  if (!city) return res.status(400).json({ error: `unknown city: ${b.city}` });
  if (b.severity === undefined) return res.status(400).json({ error: 'severity is missing' });
  if (typeof b.severity !== 'string') return res.status(400).json({ error: 'severity must be a string' });
  const severity = b.severity.toLowerCase();
  if (!SEVERITIES.includes(severity)) {
    return res.status(400).json({ error: `severity must be one of ${SEVERITIES.join(', ')}` });
  }
  if (b.message === undefined) return res.status(400).json({ error: 'message is missing' });
  const m = cleanMessage(b.message);
  if (m.error) return res.status(400).json({ error: m.error });
  res.status(202).json(pushAlert(city, severity, m.text, 'api'));
});

app.get('/api/cities', (req, res) => {
  res.json({ cities: CITIES, watchers: watcherCounts(CITIES.map((c) => c.id)) });
});

app.use(express.static(PUBLIC_DIR));

// Body parser errors (malformed JSON, too large) as JSON with the reason.
app.use((err, req, res, next) => {
  const status = err.status || err.statusCode || 500;
  res.status(status).json({ error: status === 400 ? 'body is not valid JSON' : err.message });
});

io.on('connection', (socket) => {
  const transport = socket.conn.transport.name;
  log(`connect id=${socket.id} ip=${socket.handshake.address} transport=${transport} clients=${io.engine.clientsCount}`);
  const following = new Set();
  socket.emit('hello', { cities: CITIES, severities: SEVERITIES, sim: opts.sim });
  messages++;

  socket.on('follow', (list, ack) => {
    messages++;
    if (typeof ack !== 'function') ack = () => {};
    if (!Array.isArray(list) || list.length > MAX_FOLLOW || !list.every((c) => typeof c === 'string')) {
      return ack({ ok: false, error: `follow expects an array of at most ${MAX_FOLLOW} city names` });
    }
    const want = [];
    const unknown = [];
    for (const name of list) {
      const id = cityId(name);
      if (!id) unknown.push(name);
      else if (!want.includes(id)) want.push(id);
    }
    const left = [...following].filter((c) => !want.includes(c));
    const joined = want.filter((c) => !following.has(c));
    for (const c of left) { socket.leave(c); following.delete(c); }
    for (const c of joined) { socket.join(c); following.add(c); }
    ack({ ok: true, cities: want, unknown, watchers: watcherCounts(want) });
    messages++;
    for (const c of [...left, ...joined]) announceWatchers(c);
  });

  socket.on('report', (r, ack) => {
    messages++;
    if (typeof ack !== 'function') ack = () => {};
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return ack({ ok: false, error: 'report expects {city, message}' });
    const city = cityId(r.city);
    if (!city) return ack({ ok: false, error: 'unknown city' });
    if (!following.has(city)) return ack({ ok: false, error: `follow ${city} to report there` });
    const m = cleanMessage(r.message);
    if (m.error) return ack({ ok: false, error: m.error });
    const report = { id: nextId++, city, message: m.text, time: new Date().toISOString(), from: socket.id.slice(0, 4) };
    const delivered = roomSize(city) - 1;
    socket.to(city).emit('report', report);
    messages += delivered + 1;
    log(`report id=${report.id} city=${city} from=${socket.id} delivered=${delivered}`);
    ack({ ok: true, id: report.id, delivered });
  });

  socket.on('disconnect', (reason) => {
    log(`disconnect id=${socket.id} reason="${reason}" clients=${io.engine.clientsCount}`);
    // Rooms are left by now: tell the remaining followers.
    for (const c of following) announceWatchers(c);
  });
});

function scheduleSim() {
  const delay = opts.simInterval * (0.5 + Math.random());
  setTimeout(() => {
    const city = CITIES[Math.floor(Math.random() * CITIES.length)].id;
    const r = Math.random();
    const severity = r < 0.4 ? 'minor' : r < 0.75 ? 'moderate' : r < 0.95 ? 'severe' : 'extreme';
    const choices = SIM_MESSAGES[severity];
    pushAlert(city, severity, choices[Math.floor(Math.random() * choices.length)], 'sim');
    scheduleSim();
  }, delay).unref();
}
if (opts.sim) scheduleSim();

let lastMessages = 0;
let lastTime = Date.now();
setInterval(() => {
  const now = Date.now();
  const rate = ((messages - lastMessages) * 1000) / Math.max(1, now - lastTime);
  lastMessages = messages;
  lastTime = now;
  const rooms = CITIES.filter((c) => roomSize(c.id) > 0).length;
  log(`summary clients=${io.engine.clientsCount} rooms=${rooms} msgs/s=${rate.toFixed(1)}`);
}, opts.summaryInterval).unref();

function shutdown(sig) {
  log(`${sig}: shutting down`);
  io.close();
  setTimeout(() => process.exit(0), 2000).unref();
  server.close(() => process.exit(0));
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

server.listen(opts.port, opts.host, () => {
  const shown = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  process.stdout.write(`Storm alerts on http://${shown.includes(':') ? `[${shown}]` : shown}:${server.address().port}/\n`);
});
