// BuildNet dashboard: plain JS, no dependencies. The token comes from the URL fragment
// (#token=...), which browsers never send to the server, and is kept for this tab only.
'use strict';
(function () {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    sessionStorage.setItem('buildnet-token', hash.get('token'));
    history.replaceState(null, '', location.pathname);
  }
  const token = sessionStorage.getItem('buildnet-token');
  const $ = (id) => document.getElementById(id);
  const state = { selectedBuild: null, selectedTarget: null, logSocket: null, ratios: [], last: null };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
    });
    children.forEach((c) => e.append(c));
    return e;
  }

  async function api(path) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const r = await fetch(path, { headers, cache: 'no-store' });
    if (!r.ok) {
      let msg = r.status + '';
      try { const j = await r.json(); msg = j.error + ' (' + j.hint + ')'; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.json();
  }

  function wsUrl(query) {
    const q = new URLSearchParams(query);
    if (token) q.set('access_token', token);
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?' + q;
  }

  function showError(e) {
    $('error').hidden = !e;
    $('error').textContent = e ? String(e.message || e) : '';
  }

  async function refreshBuilds() {
    const data = await api('/api/builds');
    const ul = $('builds');
    ul.replaceChildren(...data.builds.map((b) => {
      const pct = Math.round(b.progress * 100);
      const li = el('li', { class: b.status + (b.id === state.selectedBuild ? ' selected' : ''),
        'data-build-id': b.id, 'data-status': b.status, 'data-progress': String(pct) },
        el('span', { class: 'status' }, b.status), ' ', b.id, ' ',
        el('span', { class: 'muted' }, b.completed + '/' + b.targets + ' targets' +
          (b.durationMs != null ? ', ' + b.durationMs + ' ms' : '')),
        el('div', { class: 'bar' }, el('div', { style: 'width:' + pct + '%' })));
      li.querySelector('.bar > div').style.width = pct + '%';
      li.onclick = () => selectBuild(b.id);
      return li;
    }));
    if (!state.selectedBuild && data.builds.length) selectBuild(data.builds[0].id);
    else if (state.selectedBuild) refreshTargets();
  }

  async function refreshTargets() {
    if (!state.selectedBuild) return;
    const b = await api('/api/builds/' + encodeURIComponent(state.selectedBuild));
    $('targets-of').textContent = b.id;
    $('targets').replaceChildren(...b.targetList.map((t) => {
      const li = el('li', { class: t.status + (t.name === state.selectedTarget ? ' selected' : ''),
        'data-target': t.name, 'data-status': t.status },
        el('span', { class: 'status' }, t.status), ' ', t.name,
        el('span', { class: 'muted' }, t.worker ? ' on ' + t.worker : ''));
      li.onclick = () => selectTarget(t.name);
      return li;
    }));
  }

  function selectBuild(id) {
    state.selectedBuild = id;
    state.selectedTarget = null;
    refreshTargets().catch(showError);
  }

  async function selectTarget(name) {
    state.selectedTarget = name;
    const build = state.selectedBuild;
    $('log-of').textContent = build + ' / ' + name;
    const pre = $('log');
    pre.replaceChildren();
    if (state.logSocket) state.logSocket.close();
    // Live lines first (no replay), then the kept tail; a line may show twice at the seam.
    const ws = new WebSocket(wsUrl({ build, logs: 'true', replay: 'false' }));
    state.logSocket = ws;
    ws.onmessage = (m) => {
      const e = JSON.parse(m.data);
      if (e.kind === 'log' && e.target === name) appendLog(e.stream, e.line);
    };
    const tail = await api('/api/builds/' + encodeURIComponent(build) + '/targets/' +
      encodeURIComponent(name) + '/log');
    tail.lines.forEach((l) => appendLog(l.stream, l.line));
    refreshTargets().catch(showError);
  }

  function appendLog(stream, line) {
    const pre = $('log');
    pre.append(el('span', { class: stream }, line + '\n'));
    pre.scrollTop = pre.scrollHeight;
  }

  // Other masters on the same Redis and their recent builds (only with peerEvents on).
  async function refreshPeers() {
    const data = await api('/api/peers');
    $('no-peers').hidden = data.peers.length > 0;
    $('no-peers').textContent = data.enabled ? 'No other master has built anything lately.'
      : 'Peer events are off (BuildNet.Builder.peerEvents).';
    $('peers').replaceChildren(...data.peers.map((p) => el('li', { class: 'peer', 'data-peer-master': p.master },
      el('strong', {}, p.master), ' ',
      el('span', { class: 'muted' }, 'last heard ' + new Date(p.lastSeen).toLocaleTimeString()),
      el('ul', {}, ...p.builds.map((b) => {
        const pct = Math.round(b.progress * 100), total = Object.keys(b.targets).length;
        const li = el('li', { class: b.status, 'data-build-id': b.id, 'data-status': b.status,
          'data-progress': String(pct) },
          el('span', { class: 'status' }, b.status), ' ', b.id, ' ',
          el('span', { class: 'muted' }, b.completed + '/' + total + ' targets'),
          el('div', { class: 'bar' }, el('div', {})));
        li.querySelector('.bar > div').style.width = pct + '%';
        return li;
      })))));
  }

  async function refreshWorkers() {
    const data = await api('/api/workers');
    $('no-workers').hidden = data.workers.length > 0;
    $('workers').tBodies[0].replaceChildren(...data.workers.map((w) => el('tr', { 'data-worker': w.id },
      el('td', {}, w.id), el('td', {}, w.capabilities.join(', ')),
      el('td', {}, el('div', { class: 'bar', title: Math.round(w.load * 100) + '%' },
        el('div', { style: 'width:' + Math.round(w.load * 100) + '%' }))),
      el('td', {}, String(w.runningAttempts)),
      el('td', {}, (w.lastHeartbeatAgoMs / 1000).toFixed(1) + ' s ago'))));
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
    $('ratio-now').textContent = 'hits ' + a.hits + ', misses ' + a.misses + ', overall ' +
      Math.round(a.hitRatio * 100) + '%; HTTP cache ' + c.httpCache.hits + ' hits / ' +
      c.httpCache.misses + ' misses';
    drawRatios();
  }

  function drawRatios() {
    const cv = $('ratio'), g = cv.getContext('2d'), w = cv.width, h = cv.height;
    g.clearRect(0, 0, w, h);
    g.strokeStyle = '#e5e7eb';
    [0.25, 0.5, 0.75].forEach((y) => { g.beginPath(); g.moveTo(0, h - y * h); g.lineTo(w, h - y * h); g.stroke(); });
    g.strokeStyle = '#16a34a';
    g.lineWidth = 2;
    g.beginPath();
    state.ratios.forEach((r, i) => {
      const x = (i / 119) * w, y = h - r * (h - 4) - 2;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }

  let pending = false;
  function scheduleRefresh() {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      Promise.all([refreshBuilds(), refreshWorkers(), refreshPeers()]).then(() => showError(null), showError);
    }, 100);
  }

  function connectEvents() {
    const ws = new WebSocket(wsUrl({ replay: 'false' }));
    ws.onopen = () => { $('conn').textContent = 'live'; $('conn').classList.add('live'); scheduleRefresh(); };
    ws.onmessage = (m) => { if (JSON.parse(m.data).kind !== 'heartbeat') scheduleRefresh(); };
    ws.onclose = () => {
      $('conn').textContent = 'reconnecting…';
      $('conn').classList.remove('live');
      setTimeout(connectEvents, 2000);
    };
  }

  connectEvents();
  scheduleRefresh();
  setInterval(scheduleRefresh, 5000);
  sampleCache().catch(showError);
  setInterval(() => sampleCache().catch(showError), 2000);
})();
