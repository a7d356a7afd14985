// The inspector panel and the lab buttons. The server sends the trace records
// of this browser session's own connections over /inspect; this groups them
// into crossings (the steps one connection took in one turn of the server's
// event loop: a message in and its echo out, a handshake, a close) and shows
// each step with its layer, its function (linked to its lines) and its bytes.
/* global fetch */
'use strict';
(() => {
  const el = (id) => document.getElementById(id);
  const logEl = el('inspector-log');
  const KEEP = 80; // crossings on the page; older ones go
  const OPEN = 4; // the newest crossings stay unfolded
  const groups = new Map();
  /** Per connection: its latest crossing's key, turn, and whether its handshake is still going. */
  const lastOf = new Map();
  const HANDSHAKE_STARTS = new Set(['dispatch', 'Server.accept', 'Client.connect', 'WSConnection.send', 'WSConnection.initiateUpgradeConnection']);
  const HANDSHAKE_ENDS = new Set(['Sock.run', 'Client.handleHandshakeEvent', 'Handshake.acceptResponse', 'SocketConnection.onClose']);
  let socket = null;

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setState(id, state, text = state) {
    el(id).textContent = text;
    el(id).dataset.state = state;
  }

  /** What a crossing was, from the steps it holds. */
  function titleOf(records) {
    const find = (fn) => records.find((r) => r.fn === fn);
    const lab = find('lab');
    if (lab) return `lab ${lab.detail}`;
    const refused = records.find((r) => r.fn === 'dispatch' && r.detail.startsWith('answered HTTP'));
    if (refused) return `upgrade refused: ${refused.detail.replace('answered ', '').replace(/ instead.*/, '')}`;
    if (find('dispatch') || find('Server.accept') || find('Handshake.sendRequest') || find('Handshake.receiveResponse')) return 'opening handshake';
    const parts = [];
    const got = records.filter((r) => r.fn === 'Connection.nextEvent').map((r) => r.detail);
    if (got.length > 0) parts.push(`received ${got.join(', ')}`);
    const sent = records.filter((r) => r.fn === 'WSConnection.send' || r.fn === 'WSConnection.sendParts').map((r) => r.detail);
    if (sent.length > 0) parts.push(`sent ${sent.join(', ')}`);
    if (find('Base.onPingDue')) parts.unshift('ping timer');
    if (find('SocketConnection.onData') && got.length === 0) parts.push(`received ${find('SocketConnection.onData').detail.replace('socket data ', '').replace(/ B .*/, ' B')}: no event from them`);
    if (find('SocketConnection.onClose')) parts.push('socket closed');
    if (find('Sock.run') && parts.length === 0) parts.push(find('Sock.run').detail);
    return parts.join(' · ') || `${records[0].fn}: ${records[0].detail}`;
  }

  function renderStep(r) {
    const li = make('li', `step layer-${r.layer}`);
    const head = make('div', 'step-head');
    head.append(make('span', 'layer', r.layer));
    if (r.link) {
      const a = make('a', 'fn', r.fn);
      a.href = r.link.href;
      a.target = '_blank';
      a.rel = 'noopener';
      head.append(a, make('span', 'at', r.link.at));
    } else {
      head.append(make('span', 'fn', r.fn === 'lab' ? 'the lab' : r.fn));
    }
    li.append(head, make('div', 'detail', r.detail));
    if (r.frame) {
      const frame = make('div', 'frame');
      frame.append(make('div', 'frame-title', `the frame, ${r.size} bytes on the wire`));
      for (const field of r.frame) {
        const row = make('div', 'field');
        row.append(make('code', 'bytes', field.hex || '—'), make('span', 'name', field.field), make('span', 'value', field.value));
        frame.append(row);
      }
      li.append(frame);
    } else if (r.http) {
      li.append(make('pre', 'http', r.http.replace(/\r\n/g, '\n')));
    }
    if (r.headers) {
      const dl = make('pre', 'headers', r.headers.map(([name, value]) => `${name}: ${value}`).join('\n'));
      li.append(dl);
    }
    return li;
  }

  /**
   * The crossing a record belongs to: the connection's opening handshake
   * until it ends (its steps can span turns: Express may wait on the file
   * system before routing), else the steps of one turn.
   */
  function keyOf(r) {
    const last = lastOf.get(r.conn);
    // What the lab does next begins a crossing of its own.
    if (last && r.fn !== 'lab' && (last.handshaking || last.turn === r.turn)) return last.key;
    const key = `${r.conn}:${r.turn}:${groups.size}`;
    lastOf.set(r.conn, { key, turn: r.turn, handshaking: last === undefined && HANDSHAKE_STARTS.has(r.fn) });
    return key;
  }

  function noteEnd(r) {
    const last = lastOf.get(r.conn);
    const refused = r.fn === 'dispatch' && /^(answered|no route took .* left)/.test(r.detail);
    if (last && (HANDSHAKE_ENDS.has(r.fn) || refused)) {
      last.handshaking = false;
      last.turn = r.turn;
    }
  }

  function add(r) {
    const key = keyOf(r);
    noteEnd(r);
    let group = groups.get(key);
    if (group === undefined) {
      const li = make('li', `crossing role-${r.role ?? 'none'}`);
      const details = make('details');
      details.open = true;
      const summary = make('summary');
      const title = make('span', 'what');
      summary.append(make('span', 'conn', `${r.role ?? '?'}#${r.conn}`), make('span', 'path', r.path ?? ''), title);
      const steps = make('ol', 'steps');
      details.append(summary, steps);
      li.append(details);
      group = { li, details, title, steps, records: [] };
      groups.set(key, group);
      logEl.append(li);
      const all = [...groups.values()];
      if (all.length > OPEN) all[all.length - OPEN - 1].details.open = false;
      if (all.length > KEEP) {
        const [oldKey, old] = groups.entries().next().value;
        old.li.remove();
        groups.delete(oldKey);
      }
    }
    group.records.push(r);
    group.steps.append(renderStep(r));
    group.title.textContent = titleOf(group.records);
  }

  function addAll(records) {
    const stick = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 80;
    for (const r of records) add(r);
    if (stick) logEl.scrollTop = logEl.scrollHeight;
  }

  function clear() {
    groups.clear();
    lastOf.clear();
    logEl.textContent = '';
  }

  function showLab(message) {
    const out = el('lab-result');
    if (message.error) {
      out.dataset.state = 'error';
      out.textContent = `${message.name}: ${message.error}`;
      return;
    }
    const { title, replies, close } = message.result;
    const back = replies.length > 0 ? `came back: ${replies.join(', ')}; ` : '';
    const closed = close ? `closed with ${close.code}${close.reason ? ` "${close.reason}"` : ''}` : 'no close frame';
    // Red when the server refused what the lab sent (a protocol error, 1002 to 1011).
    out.dataset.state = close && close.code >= 1002 && close.code <= 1011 ? 'closed' : 'done';
    out.textContent = `${title}: ${back}${closed}.`;
  }

  function connect() {
    setState('inspector-state', 'connecting');
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/inspect`);
    socket.onopen = () => setState('inspector-state', 'open', 'live');
    socket.onclose = (e) => setState('inspector-state', 'closed', `closed (${e.code})`);
    socket.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.type === 'hello') {
        clear();
        addAll(message.records);
      } else if (message.type === 'records') addAll(message.records);
      else if (message.type === 'lab') showLab(message);
    };
  }

  function runCase(button) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const ask = { lab: button.dataset.lab };
    if (ask.lab === 'close') ask.code = Number(el('lab-code').value);
    el('lab-result').dataset.state = 'running';
    el('lab-result').textContent = `${button.textContent}: running…`;
    socket.send(JSON.stringify(ask));
  }

  el('inspector-clear').onclick = clear;
  for (const button of document.querySelectorAll('[data-lab]')) button.onclick = () => runCase(button);

  fetch('/inspector/status')
    .then((res) => res.json())
    .then(({ enabled }) => {
      if (enabled) return connect();
      setState('inspector-state', 'off');
      el('inspector-hint').textContent = 'The inspector is off. `npm start` turns it on (WSSTACK_INSPECTOR=0 turns it off); createApp({ inspector: true }) in code.';
      for (const button of document.querySelectorAll('[data-lab]')) button.disabled = true;
      el('lab-result').textContent = 'The lab runs with the inspector.';
    })
    .catch(() => setState('inspector-state', 'off'));
})();
