// BuildNet dashboard: plain JS, no dependencies. Everything from the server is rendered with
// textContent / DOM nodes, never innerHTML, so build and log text cannot inject markup.
//
// The token is typed into the sign-in form (or given once as #token=..., a fragment browsers
// never send) and kept in this tab's sessionStorage. It travels only in the Authorization header;
// the event WebSocket, which cannot send headers, opens with a single-use ticket from
// POST /api/ticket instead.
'use strict';
(function () {
  const KEY = 'buildnet-token';
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    sessionStorage.setItem(KEY, hash.get('token'));
    history.replaceState(null, '', location.pathname);
  }
  let token = sessionStorage.getItem(KEY);
  const $ = (id) => document.getElementById(id);
  const state = { selectedBuild: null, selectedTarget: null, logSocket: null, ratios: [], last: null,
    build: null, started: false, outputs: {} };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
    });
    children.forEach((c) => e.append(c));
    return e;
  }

  class HttpFailure extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, method) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const r = await fetch(path, { method: method || 'GET', headers, cache: 'no-store' });
    if (!r.ok) {
      let msg = 'HTTP ' + r.status;
      try { const j = await r.json(); msg = j.error; } catch (e) { /* not JSON */ }
      throw new HttpFailure(r.status, msg);
    }
    return r.json();
  }

  async function wsUrl(query) {
    const q = new URLSearchParams(query);
    if (token) q.set('ticket', (await api('/api/ticket', 'POST')).ticket);
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?' + q;
  }

  function showError(e) {
    if (e && e.status === 401) { signOut('Your token was not accepted; sign in again.'); return; }
    $('error').hidden = !e;
    $('error').textContent = e ? String(e.message || e) : '';
  }

  // ---- formatting ---------------------------------------------------------------------------
  function ms(d) {
    if (d == null) return '';
    if (d < 1000) return d + ' ms';
    if (d < 60000) return (d / 1000).toFixed(1) + ' s';
    return Math.floor(d / 60000) + ' min ' + Math.round((d % 60000) / 1000) + ' s';
  }
  function clock(iso) { return iso ? new Date(iso).toLocaleTimeString() : ''; }
  function targetMs(t) {
    if (t.durationMs != null) return t.durationMs;
    if (t.startedAt && t.finishedAt) return Date.parse(t.finishedAt) - Date.parse(t.startedAt);
    if (t.startedAt) return Date.now() - Date.parse(t.startedAt);
    return null;
  }

  // ---- builds -------------------------------------------------------------------------------
  // Who submitted a build, as BuildOrigin says it: "api", "cli alice", "client ci-7 at 10.0.0.5:4041",
  // "http 127.0.0.1:53210".
  function originText(o) {
    if (!o) return '';
    let s = o.kind;
    if (o.name) s += ' ' + o.name;
    if (o.address) s += (o.kind === 'client' && o.name ? ' at ' : ' ') + o.address;
    return s;
  }
  // The targets a build was asked for (older servers: the last of its closure).
  function requestedText(b) {
    const asked = b.requested && b.requested.length ? b.requested : (b.targetNames || []).slice(-1);
    return asked.length > 4 ? asked.slice(0, 4).join(', ') + ' (+' + (asked.length - 4) + ')' : asked.join(', ');
  }

  async function refreshBuilds() {
    const data = await api('/api/builds');
    $('no-builds').hidden = data.builds.length > 0;
    $('builds').replaceChildren(...data.builds.map((b) => {
      const pct = Math.round(b.progress * 100);
      const dur = b.durationMs != null ? b.durationMs : Date.now() - Date.parse(b.startedAt);
      const li = el('li', { class: b.status + (b.id === state.selectedBuild ? ' selected' : ''),
        'data-build-id': b.id, 'data-status': b.status, 'data-progress': String(pct) },
        el('span', { class: 'status' }, b.status), ' ', el('strong', { class: 'build-targets' }, requestedText(b)), ' ',
        el('span', { class: 'origin', title: 'submitted by' }, originText(b.origin)), ' ',
        el('span', { class: 'muted' }, 'started ' + clock(b.startedAt) + ', ' +
          (b.durationMs != null ? 'took ' : 'running for ') + ms(dur) + ', ' + b.completed + '/' + b.targets + ' targets'),
        el('span', { class: 'muted targets' }, b.id),
        el('div', { class: 'bar' }, el('div', {})));
      li.querySelector('.bar > div').style.width = pct + '%';
      li.onclick = () => selectBuild(b.id);
      return li;
    }));
    if (!state.selectedBuild && data.builds.length) selectBuild(data.builds[0].id);
    else if (state.selectedBuild) await refreshTargets();
  }

  async function refreshTargets() {
    if (!state.selectedBuild) return;
    const b = await api('/api/builds/' + encodeURIComponent(state.selectedBuild));
    state.build = b;
    $('targets-of').textContent = requestedText(b) + ' · ' + b.status + ' · ' + b.id;
    $('build-requested').textContent = requestedText(b);
    $('build-origin').textContent = originText(b.origin);
    $('build-closure').textContent = String((b.targetNames || []).length);
    $('targets').tBodies[0].replaceChildren(...b.targetList.map((t) => {
      const tr = el('tr', { class: t.status + (t.name === state.selectedTarget ? ' selected' : ''),
        'data-target': t.name, 'data-status': t.status },
        el('td', {}, t.name), el('td', { class: 'status' }, t.status),
        el('td', {}, t.worker || (t.startedAt ? 'this machine' : '')),
        el('td', {}, clock(t.startedAt)), el('td', { class: 'duration' }, ms(targetMs(t))));
      tr.onclick = () => selectTarget(t.name);
      return tr;
    }));
    drawTimeline(b);
    if (state.selectedTarget) showFacts();
  }

  // A Gantt of the build: one lane per worker (or local slot), one bar per target attempt span.
  function drawTimeline(b) {
    const ran = b.targetList.filter((t) => t.startedAt);
    const box = $('timeline');
    if (!ran.length) { box.replaceChildren(el('p', { class: 'muted' }, 'No target has started yet.')); return; }
    const t0 = Math.min(...ran.map((t) => Date.parse(t.startedAt)));
    const end = (t) => (t.finishedAt ? Date.parse(t.finishedAt) : Date.now());
    const t1 = Math.max(t0 + 1, ...ran.map(end));
    const lanes = new Map(); // lane name -> array of rows, each an array of targets
    ran.slice().sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt)).forEach((t) => {
      const where = t.worker || 'this machine';
      if (!lanes.has(where)) lanes.set(where, []);
      const rows = lanes.get(where);
      let row = rows.find((r) => end(r[r.length - 1]) <= Date.parse(t.startedAt));
      if (!row) { row = []; rows.push(row); }
      row.push(t);
    });
    const out = [];
    lanes.forEach((rows, where) => rows.forEach((row, i) => {
      const track = el('div', { class: 'lane-track' });
      row.forEach((t) => {
        const bar = el('div', { class: 'gbar ' + t.status, 'data-target': t.name,
          title: t.name + ' · ' + t.status + ' · ' + ms(end(t) - Date.parse(t.startedAt)) }, t.name);
        bar.style.left = ((Date.parse(t.startedAt) - t0) / (t1 - t0) * 100) + '%';
        bar.style.width = ((end(t) - Date.parse(t.startedAt)) / (t1 - t0) * 100) + '%';
        bar.onclick = () => selectTarget(t.name);
        track.append(bar);
      });
      out.push(el('div', { class: 'lane', 'data-lane': where },
        el('div', { class: 'lane-name', title: where }, where + (rows.length > 1 ? ' #' + (i + 1) : '')), track));
    }));
    out.push(el('div', { class: 'axis' }, el('span', {}, '0'), el('span', {}, ms(Math.round((t1 - t0) / 2))),
      el('span', {}, ms(t1 - t0))));
    box.replaceChildren(...out);
  }

  function selectBuild(id) {
    state.selectedBuild = id;
    state.selectedTarget = null;
    $('target-page').hidden = true;
    refreshTargets().catch(showError);
  }

  // ---- target page --------------------------------------------------------------------------
  function showFacts() {
    const t = state.build && state.build.targetList.find((x) => x.name === state.selectedTarget);
    if (!t) return;
    const facts = [['Status', t.status], ['Ran on', t.worker || (t.startedAt ? 'this machine' : '')],
      ['Attempt', String(t.attempt)], ['Started', t.startedAt ? new Date(t.startedAt).toLocaleString() : ''],
      ['Duration', ms(targetMs(t))], ['Why', t.reason || ''], ['Exit code', t.exitCode != null ? String(t.exitCode) : ''],
      ['Cache key', t.key || ''], ['Outputs', (state.outputs[t.name] || []).join(', ')],
      ['Errors', (t.errors || []).join('\n')]];
    $('target-facts').replaceChildren(...facts.filter(([, v]) => v).flatMap(([k, v]) =>
      [el('dt', {}, k), el('dd', { 'data-fact': k }, v)]));
    document.querySelectorAll('#targets tbody tr').forEach((tr) =>
      tr.classList.toggle('selected', tr.dataset.target === state.selectedTarget));
  }

  async function selectTarget(name) {
    state.selectedTarget = name;
    const build = state.selectedBuild;
    $('target-page').hidden = false;
    $('target-name').textContent = name;
    $('log-of').textContent = 'in build ' + build;
    showFacts();
    showExplain(name).catch(showError);
    const pre = $('log');
    pre.replaceChildren();
    if (state.logSocket) state.logSocket.close();
    // The kept lines first, then live ones (a line may show twice at the seam).
    const tail = await api('/api/builds/' + encodeURIComponent(build) + '/targets/' +
      encodeURIComponent(name) + '/log');
    if (state.selectedTarget !== name) return;
    tail.lines.forEach((l) => appendLog(l.stream, l.line));
    if (!tail.lines.length) pre.append(el('span', { class: 'muted' }, '(no output kept)\n'));
    const t = state.build && state.build.targetList.find((x) => x.name === name);
    if (t && !t.finishedAt) {
      const ws = new WebSocket(await wsUrl({ build, logs: 'true', replay: 'false' }));
      state.logSocket = ws;
      ws.onmessage = (m) => {
        const e = JSON.parse(m.data);
        if (e.kind === 'log' && e.target === name) appendLog(e.stream, e.line);
      };
    }
    document.getElementById('target-page').scrollIntoView({ block: 'nearest' });
  }

  async function showExplain(name) {
    const box = $('explain');
    box.textContent = '';
    if (!(name in state.outputs)) {
      (await api('/api/targets')).targets.forEach((t) => { state.outputs[t.name] = t.outputs; });
      showFacts();
    }
    let text;
    try {
      text = (await api('/api/targets/' + encodeURIComponent(name) + '/explain')).text;
    } catch (e) {
      if (e.status !== 409) throw e;
      text = 'Not built yet.';
    }
    if (state.selectedTarget === name) box.textContent = text;
  }

  function appendLog(stream, line) {
    const pre = $('log');
    pre.append(el('span', { class: stream }, line + '\n'));
    pre.scrollTop = pre.scrollHeight;
  }

  // ---- watch cycles -------------------------------------------------------------------------
  // The newest cycles GET /api/watch keeps; each names what changed, what it rebuilt and its build.
  const WATCH_ROWS = 20, WATCH_PATHS = 3;
  function changedText(c) {
    if (!c.changedCount) return c.cycle === 1 ? 'watch started' : 'nothing';
    const shown = c.changed.slice(0, WATCH_PATHS);
    const more = c.changedCount - shown.length;
    return c.changedCount + (c.changedCount === 1 ? ' file: ' : ' files: ') + shown.join(', ') +
      (more > 0 ? ' (+' + more + ' more)' : '');
  }
  function listText(names, max) {
    return names.length > max ? names.slice(0, max).join(', ') + ' (+' + (names.length - max) + ')' : names.join(', ');
  }

  async function refreshWatch() {
    const data = await api('/api/watch');
    const cycles = data.cycles.slice(0, WATCH_ROWS);
    $('no-watch').hidden = cycles.length > 0 || data.watching > 0;
    $('watch-cycles').hidden = cycles.length === 0;
    $('watch-state').textContent = data.watching > 0
      ? (data.watching === 1 ? 'watching for changes' : data.watching + ' watches running')
      : (cycles.length ? 'no watch running now; its last cycles' : '');
    $('watch-cycles').tBodies[0].replaceChildren(...cycles.map((c) => {
      const build = c.build
        ? el('a', { href: '#build=' + encodeURIComponent(c.build), class: 'build-link', 'data-build-id': c.build }, c.build)
        : el('span', { class: 'muted' }, 'nothing to build');
      if (c.build) build.onclick = (ev) => { ev.preventDefault(); openBuild(c.build); };
      return el('tr', { 'data-cycle': String(c.cycle), 'data-build-id': c.build },
        el('td', {}, '#' + c.cycle), el('td', {}, clock(c.at)),
        el('td', { class: 'changed', title: c.changed.join('\n') }, changedText(c),
          c.rescanned ? el('span', { class: 'rescan', title: 'file events were lost, so the affected folders were checked again' }, ' rescanned') : ''),
        el('td', { class: 'rebuilt' }, c.targets.length ? listText(c.targets, 6) : el('span', { class: 'muted' }, 'nothing affected')),
        el('td', {}, build));
    }));
  }

  // A build link (#build=ID) selects that build and scrolls to its page.
  function openBuild(id) {
    if (location.hash !== '#build=' + encodeURIComponent(id)) history.replaceState(null, '', '#build=' + encodeURIComponent(id));
    selectBuild(id);
    $('targets-of').scrollIntoView({ block: 'start' });
  }
  function buildFromHash() {
    return new URLSearchParams(location.hash.slice(1)).get('build');
  }
  window.addEventListener('hashchange', () => { const id = buildFromHash(); if (id && state.started) openBuild(id); });

  // ---- peers, workers, cache ----------------------------------------------------------------
  async function refreshPeers() {
    const data = await api('/api/peers');
    $('no-peers').hidden = data.peers.length > 0;
    $('no-peers').textContent = data.enabled
      ? 'No other build server sharing this one\'s state store has built anything in the last 10 minutes.'
      : 'This server is not set up to show other build servers\' builds.';
    $('peers').replaceChildren(...data.peers.map((p) => el('li', { class: 'peer', 'data-peer-master': p.master },
      el('strong', {}, p.master), ' ',
      el('span', { class: 'muted' }, 'last heard ' + new Date(p.lastSeen).toLocaleTimeString()),
      el('ul', {}, ...p.builds.map((b) => {
        const pct = Math.round(b.progress * 100), total = Object.keys(b.targets).length;
        const li = el('li', { class: b.status, 'data-build-id': b.id, 'data-status': b.status,
          'data-progress': String(pct) },
          el('span', { class: 'status' }, b.status), ' ', Object.keys(b.targets).slice(-3).join(', '), ' ',
          el('span', { class: 'muted' }, b.completed + '/' + total + ' targets, started ' + clock(b.startedAt)),
          el('div', { class: 'bar' }, el('div', {})));
        li.querySelector('.bar > div').style.width = pct + '%';
        return li;
      })))));
  }

  async function refreshWorkers() {
    const data = await api('/api/workers');
    $('no-workers').hidden = data.workers.length > 0;
    $('workers').tBodies[0].replaceChildren(...data.workers.map((w) => {
      const inner = el('div', {});
      inner.style.width = Math.round(w.load * 100) + '%';
      return el('tr', { 'data-worker': w.id },
        el('td', {}, w.id), el('td', {}, w.capabilities.join(', ')),
        el('td', {}, el('div', { class: 'bar', title: Math.round(w.load * 100) + '%' }, inner)),
        el('td', {}, String(w.runningAttempts)),
        el('td', {}, (w.lastHeartbeatAgoMs / 1000).toFixed(1) + ' s ago'));
    }));
  }

  async function sampleCache() {
    const c = await api('/api/cache');
    const a = c.actionCache;
    const prev = state.last;
    state.last = a;
    // The ratio over the last interval when there was traffic, else the ratio so far.
    let ratio = a.hitRatio;
    if (prev) {
      const dh = a.hits - prev.hits, dm = a.misses - prev.misses;
      if (dh + dm > 0) ratio = dh / (dh + dm);
    }
    state.ratios.push(ratio);
    if (state.ratios.length > 120) state.ratios.shift();
    $('ratio-now').textContent = 'Action cache: ' + a.hits + ' hits, ' + a.misses + ' misses (' +
      Math.round(a.hitRatio * 100) + '% overall). HTTP cache: ' + c.httpCache.hits + ' hits, ' +
      c.httpCache.misses + ' misses.';
    drawRatios();
  }

  // The last samples (every 2 s) across the whole width, with labelled 0/50/100% lines.
  function drawRatios() {
    const cv = $('ratio');
    const scale = window.devicePixelRatio || 1;
    const cssW = cv.clientWidth || 600, cssH = cv.clientHeight || 160;
    cv.width = Math.round(cssW * scale);
    cv.height = Math.round(cssH * scale);
    const g = cv.getContext('2d');
    g.setTransform(scale, 0, 0, scale, 0, 0);
    const left = 36, top = 8, w = cssW - left - 8, h = cssH - top - 18;
    g.clearRect(0, 0, cssW, cssH);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#6b7280';
    g.strokeStyle = '#e5e7eb';
    g.lineWidth = 1;
    [0, 0.5, 1].forEach((v) => {
      const y = top + h - v * h;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + w, y); g.stroke();
      g.fillText(Math.round(v * 100) + '%', 2, y + 4);
    });
    const n = state.ratios.length;
    g.fillText(n > 1 ? 'last ' + (n - 1) * 2 + ' s' : 'sampling every 2 s', left, cssH - 4);
    const x = (i) => left + (n === 1 ? w : (i / (n - 1)) * w);
    const y = (r) => top + h - r * h;
    g.fillStyle = 'rgba(22,163,74,.15)';
    g.beginPath();
    g.moveTo(x(0), top + h);
    state.ratios.forEach((r, i) => g.lineTo(x(i), y(r)));
    g.lineTo(x(n - 1), top + h);
    g.closePath();
    g.fill();
    g.strokeStyle = '#16a34a';
    g.lineWidth = 2;
    g.beginPath();
    state.ratios.forEach((r, i) => { if (i === 0) g.moveTo(n === 1 ? left : x(i), y(r)); g.lineTo(x(i), y(r)); });
    g.stroke();
    const last = state.ratios[n - 1];
    g.fillStyle = '#1d2330';
    g.font = 'bold 13px system-ui, sans-serif';
    g.fillText(Math.round(last * 100) + '% now', left + w - 70, top + 14);
  }

  // ---- live updates -------------------------------------------------------------------------
  let pending = false;
  function scheduleRefresh() {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      Promise.all([refreshBuilds(), refreshWorkers(), refreshPeers(), refreshWatch()]).then(() => showError(null), showError);
    }, 100);
  }

  let events = null;
  async function connectEvents() {
    let url;
    try { url = await wsUrl({ replay: 'false' }); } catch (e) { showError(e); setTimeout(connectEvents, 2000); return; }
    if (!state.started) return;
    const ws = new WebSocket(url);
    events = ws;
    ws.onopen = () => { $('conn').textContent = 'live'; $('conn').classList.add('live'); scheduleRefresh(); };
    ws.onmessage = (m) => { if (JSON.parse(m.data).kind !== 'heartbeat') scheduleRefresh(); };
    ws.onclose = () => {
      if (events !== ws || !state.started) return;
      $('conn').textContent = 'reconnecting…';
      $('conn').classList.remove('live');
      setTimeout(connectEvents, 2000);
    };
  }

  const timers = [];
  function startDashboard() {
    state.started = true;
    $('login').hidden = true;
    $('dash').hidden = false;
    $('signout').hidden = !token;
    $('conn').textContent = 'connecting…';
    if (buildFromHash()) selectBuild(buildFromHash());
    connectEvents();
    scheduleRefresh();
    timers.push(setInterval(scheduleRefresh, 5000));
    sampleCache().catch(showError);
    timers.push(setInterval(() => sampleCache().catch(showError), 2000));
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    token = null;
    state.started = false;
    timers.splice(0).forEach(clearInterval);
    if (events) { const e = events; events = null; e.close(); }
    if (state.logSocket) state.logSocket.close();
    $('dash').hidden = true;
    $('signout').hidden = true;
    $('conn').textContent = 'signed out';
    $('conn').classList.remove('live');
    $('login').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    $('token-input').focus();
  }

  $('login').onsubmit = async (ev) => {
    ev.preventDefault();
    token = $('token-input').value.trim();
    try {
      await api('/api/ticket', 'POST'); // needs the token: checks it without touching anything
      sessionStorage.setItem(KEY, token);
      $('token-input').value = '';
      startDashboard();
    } catch (e) {
      token = null;
      $('login-error').hidden = false;
      $('login-error').textContent = e.status === 401 ? 'That token is not accepted by this server.'
        : 'Cannot sign in: ' + e.message;
    }
  };
  $('signout').onclick = () => signOut(null);

  // Without a stored token, ask for one unless this server answers reads without it.
  (async () => {
    try {
      await api('/api/workers');
      startDashboard();
    } catch (e) {
      if (e.status === 401) signOut(token ? 'Your token was not accepted; sign in again.' : null);
      else { startDashboard(); showError(e); }
    }
  })();
})();
