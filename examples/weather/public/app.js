// The storm-alert page: follows cities (Socket.IO rooms) and shows their alerts live.
//
// Protocol: examples/weather/PROTOCOL.md. The page connects with the official client (io()),
// sends the full list of followed cities on every connect (so a reconnection re-follows by
// itself), and renders "alert", "report" and "watchers" events as they arrive. URL parameters:
// ?follow=london,paris follows exactly those cities; ?transport=polling (or websocket)
// restricts the client's transports.
(function () {
  'use strict';

  var STORE_KEY = 'sio-weather.follow';
  var MAX_FEED = 100;
  var params = new URLSearchParams(location.search);
  var $ = function (id) { return document.getElementById(id); };

  // --- state -----------------------------------------------------------------------------
  var cities = [];              // [{id, name}] from the server's hello
  var following = initialFollow();
  var watchers = {};            // city id -> count
  var followSeq = 0;            // ignore acknowledgements of superseded follow requests

  function initialFollow() {
    var fromUrl = params.get('follow');
    if (fromUrl !== null) return normalize(fromUrl.split(','));
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
      return Array.isArray(saved) ? normalize(saved) : [];
    } catch (e) {
      return [];
    }
  }

  function normalize(list) {
    var out = [];
    list.forEach(function (c) {
      var id = String(c).trim().toLowerCase().replace(/ /g, '-');
      if (id && out.indexOf(id) < 0) out.push(id);
    });
    return out;
  }

  function save() {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(following)); } catch (e) { /* private mode */ }
  }

  function cityName(id) {
    for (var i = 0; i < cities.length; i++) if (cities[i].id === id) return cities[i].name;
    return id;
  }

  // --- connection --------------------------------------------------------------------------
  var transport = params.get('transport');
  var ioOpts = {};
  if (transport === 'polling' || transport === 'websocket') ioOpts.transports = [transport];
  var socket = io(ioOpts);

  function setState(state, text) {
    var el = $('status');
    el.dataset.state = state;
    $('status-text').textContent = text || state;
    var t = state === 'connected' && socket.io.engine ? socket.io.engine.transport.name : '';
    $('transport').textContent = t ? 'via ' + t : '';
    $('transport').dataset.transport = t;
  }

  socket.on('connect', function () {
    setState('connected');
    socket.io.engine.once('upgrade', function () { setState('connected'); });
    sendFollow();
  });
  socket.on('disconnect', function (reason) {
    if (reason === 'io client disconnect') {
      setState('disconnected');
    } else if (reason === 'io server disconnect') {
      // The server closed this socket on purpose: the client does not retry by itself.
      setState('reconnecting', 'reconnecting…');
      socket.connect();
    } else {
      setState('reconnecting', 'reconnecting…');
    }
  });
  socket.on('connect_error', function () {
    if (!socket.connected) setState('reconnecting', 'reconnecting…');
  });
  socket.io.on('reconnect_attempt', function (n) {
    setState('reconnecting', 'reconnecting… (attempt ' + n + ')');
  });
  socket.io.on('reconnect_failed', function () { setState('disconnected'); });

  socket.on('hello', function (h) {
    cities = Array.isArray(h && h.cities) ? h.cities : [];
    renderCities();
  });

  function sendFollow() {
    if (!socket.connected) return; // sent on the next connect
    var seq = ++followSeq;
    socket.emit('follow', following, function (ack) {
      if (seq !== followSeq || !ack || !ack.ok) return;
      following = ack.cities;
      Object.keys(ack.watchers || {}).forEach(function (c) { watchers[c] = ack.watchers[c]; });
      renderCities();
      document.body.dataset.followed = following.join(',');
    });
  }

  function toggle(id, on) {
    var i = following.indexOf(id);
    if (on && i < 0) following.push(id);
    if (!on && i >= 0) following.splice(i, 1);
    save();
    renderCities();
    sendFollow();
  }

  socket.on('watchers', function (w) {
    Object.keys(w || {}).forEach(function (c) { watchers[c] = w[c]; });
    renderCities();
  });

  socket.on('alert', function (a) { addToFeed('alert', a); });
  socket.on('report', function (r) { addToFeed('report', r); });

  // --- rendering ---------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderCities() {
    var list = $('cities');
    list.textContent = '';
    // Known cities from the server, plus followed ones not (yet) known.
    var ids = cities.map(function (c) { return c.id; });
    following.forEach(function (id) { if (ids.indexOf(id) < 0 && cities.length === 0) ids.push(id); });
    ids.forEach(function (id) {
      var on = following.indexOf(id) >= 0;
      var li = el('li', 'city' + (on ? ' on' : ''));
      li.dataset.city = id;
      var label = el('label');
      var box = el('input');
      box.type = 'checkbox';
      box.checked = on;
      box.addEventListener('change', function () { toggle(id, box.checked); });
      label.appendChild(box);
      label.appendChild(el('span', 'name', cityName(id)));
      if (on) {
        var n = watchers[id];
        var w = el('span', 'watchers', n === undefined ? '…' : n + ' watching');
        w.dataset.city = id;
        if (n !== undefined) w.dataset.count = String(n);
        w.title = 'people following ' + cityName(id) + ' right now';
        label.appendChild(w);
      }
      li.appendChild(label);
      list.appendChild(li);
    });
    renderReportCities();
  }

  function renderReportCities() {
    var sel = $('report-city');
    var keep = sel.value;
    sel.textContent = '';
    following.forEach(function (id) {
      var o = el('option', null, cityName(id));
      o.value = id;
      sel.appendChild(o);
    });
    if (following.indexOf(keep) >= 0) sel.value = keep;
    var none = following.length === 0;
    var result = $('report-result');
    if (!result.dataset.used) {
      result.textContent = none ? 'Follow a city to tell its other followers what is happening.'
                                : 'Tell the other followers of a city what you see.';
    }
    sel.disabled = $('report-message').disabled = $('report-send').disabled = none;
  }

  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function addToFeed(kind, item, mine) {
    if (!item || typeof item !== 'object') return;
    var li = el('li', 'item ' + kind + (kind === 'alert' ? ' sev-' + item.severity : '') + (mine ? ' mine' : ''));
    li.dataset.kind = kind;
    li.dataset.city = item.city;
    li.dataset.received = String(Date.now()); // when it reached this page (for latency checks)
    if (item.id !== undefined) li.dataset.id = String(item.id);
    if (kind === 'alert') {
      li.dataset.severity = item.severity;
      li.dataset.source = item.source;
    }
    var head = el('div', 'head');
    head.appendChild(el('span', 'city-name', cityName(item.city)));
    head.appendChild(el('span', 'badge', kind === 'alert' ? item.severity : (mine ? 'your report' : 'local report')));
    var t = el('time', 'time', fmtTime(item.time));
    t.dateTime = item.time || '';
    head.appendChild(t);
    li.appendChild(head);
    li.appendChild(el('p', 'message', item.message));
    var meta = kind === 'alert' ? (item.source === 'sim' ? 'simulated feed' : 'weather service')
                                : (mine ? 'sent by you' : 'from visitor ' + item.from);
    li.appendChild(el('p', 'meta', meta));
    var feed = $('feed');
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > MAX_FEED) feed.removeChild(feed.lastChild);
    $('feed-empty').hidden = true;
  }

  $('report-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var city = $('report-city').value;
    var input = $('report-message');
    var message = input.value.trim();
    if (!city || !message) return;
    var result = $('report-result');
    result.dataset.used = '1';
    if (!socket.connected) { result.textContent = 'Not connected: try again in a moment.'; return; }
    socket.timeout(5000).emit('report', { city: city, message: message }, function (err, ack) {
      if (err) { result.textContent = 'No answer from the server.'; return; }
      if (!ack || !ack.ok) { result.textContent = 'Not sent: ' + ((ack && ack.error) || 'unknown error'); return; }
      input.value = '';
      result.textContent = 'Sent to ' + ack.delivered + ' other ' + (ack.delivered === 1 ? 'follower' : 'followers') +
        ' of ' + cityName(city) + '.';
      addToFeed('report', { id: ack.id, city: city, message: message, time: new Date().toISOString() }, true);
    });
  });

  renderCities();
})();
