// The inspector: the server's trace of a visitor's own connections, sent to
// their page over a WebSocket route of its own (/inspect), each step with
// its frame bytes labelled and a link to the lines that ran; and the lab,
// which sends from the server the frames a browser cannot.
//
// Whose records are whose: the page gets a session cookie; every WebSocket
// upgrade that carries it is filed under that session by its trace id
// (traceId of req.socket, asked in middleware before the handshake), and a
// record goes only to the pages of the session its connection is filed
// under. Records of connections no session claims are dropped.
//
// Off unless asked for (`npm start` asks): tracing costs nothing while no
// sink is installed, and this is the only thing in the demo that installs one.
'use strict';
const crypto = require('node:crypto');
const { enableTrace, disableTrace } = require('@wsstack/express-sock');
const { traceId: coreTraceId } = require('@wsstack/wsproto');
const { labelFrame, httpHead } = require('./frame-labels');
const { linkFor, sourcePage } = require('./source-view');
const { runLab } = require('./lab');

const COOKIE = 'wsstack-demo';
/** Steps whose bytes are one frame, to be labelled field by field. */
const FRAME_STEPS = new Set(['FrameDecoder.readHeader', 'FrameProtocol.sendData', 'FrameProtocol.sendDataParts', 'FrameProtocol.close', 'FrameProtocol.ping', 'FrameProtocol.pong', 'lab']);
/** Sessions kept; the oldest without a page open goes first. */
const MAX_SESSIONS = 200;
/** Records kept per session for a page that connects (or reloads) after its sockets did. */
const HISTORY = 400;
/** Connections traced but not claimed yet (their first lines come before the middleware runs). */
const MAX_PENDING = 256;
const MAX_PENDING_RECORDS = 64;
/** How long a closed connection stays filed, for its last lines. */
const FORGET_AFTER = 2000;
const MUTED = 'muted';

/** Every running inspector of this process: there is one trace sink, and it hands each record to all. */
const live = new Set();

/** Counts turns of the event loop: the steps of one turn on one connection are one crossing. */
let turn = 0;
let turnEnding = false;
function currentTurn() {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(() => {
      turn++;
      turnEnding = false;
    });
  }
  return turn;
}

function sink(line, record) {
  if (process.env.WSSTACK_TRACE === '1') process.stderr.write(`[wsstack] ${line}\n`);
  const at = currentTurn();
  for (const inspector of live) inspector.take(record, at);
}

/** The session cookie, shown by name only: it is HttpOnly, and a page should not learn it from its own trace. */
const hideCookie = (text) => text.replace(new RegExp(`(${COOKIE}=)[^;\\r\\n]*`, 'g'), '$1(hidden)');

/** A record as the page shows it: its link, and its bytes as a labelled frame or an HTTP head. */
function present(record, path, at) {
  const item = { conn: record.conn, role: record.role, layer: record.layer, fn: record.fn, detail: record.detail, turn: at, path, link: linkFor(record.fn) };
  const bytes = record.bytes;
  // Other steps with bytes say them in their detail already (the first 16, in hex);
  // the socket's write of a head the core just made would show it twice.
  if (bytes !== null && bytes.length > 0 && record.fn !== 'SocketWriter.writeNow') {
    item.size = record.size;
    const head = httpHead(bytes);
    if (head !== null) item.http = hideCookie(head);
    else if (FRAME_STEPS.has(record.fn)) item.frame = labelFrame(bytes);
  }
  if (record.headers !== null) item.headers = record.headers.slice(0, 40).map(([name, value]) => [name, hideCookie(value)]);
  return item;
}

function readCookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

class Inspector {
  constructor() {
    /** sid -> { viewers: Set<Server>, history: [], outbox: [], scheduled, labRunning } */
    this.sessions = new Map();
    /** trace id -> { sid, path } or MUTED */
    this.owners = new Map();
    /** trace id -> records that came before the connection was claimed */
    this.pending = new Map();
    this.session = this.session.bind(this);
    this.guard = this.guard.bind(this);
    this.viewer = this.viewer.bind(this);
  }

  start() {
    live.add(this);
    enableTrace(sink);
  }

  stop() {
    live.delete(this);
    if (live.size > 0) return;
    if (process.env.WSSTACK_TRACE === '1') enableTrace();
    else disableTrace();
  }

  /** Middleware for every request: a session cookie for pages, and files each upgrade under its session. */
  session(req, res, next) {
    const sid = readCookie(req.headers.cookie, COOKIE);
    const known = sid !== undefined && this.sessions.has(sid) ? sid : null;
    if (String(req.headers.upgrade).toLowerCase() === 'websocket') {
      req.inspectorSession = known;
      const path = req.url ?? '/';
      // The inspector's own sockets are not shown to anyone: their records would describe themselves.
      this.claim(req.socket, new URL(path, 'http://demo').pathname === '/inspect' ? null : known, path, req.socket);
    } else if (known === null) {
      const fresh = crypto.randomBytes(18).toString('base64url');
      this.addSession(fresh);
      res.setHeader('Set-Cookie', `${COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Strict`);
    }
    next();
  }

  addSession(sid) {
    this.sessions.set(sid, { viewers: new Set(), history: [], outbox: [], scheduled: false, labRunning: false });
    if (this.sessions.size <= MAX_SESSIONS) return;
    for (const [old, s] of this.sessions) {
      if (s.viewers.size === 0) {
        this.sessions.delete(old);
        break;
      }
    }
  }

  /** Files `owner`'s connection (a socket, or the lab's client core) under `sid`; null mutes it. */
  claim(owner, sid, path, socket) {
    const id = coreTraceId(owner);
    this.owners.set(id, sid === null ? MUTED : { sid, path });
    const early = this.pending.get(id);
    this.pending.delete(id);
    if (early !== undefined) for (const [record, at] of early) this.take(record, at);
    socket.once('close', () => setTimeout(() => this.owners.delete(id), FORGET_AFTER).unref());
  }

  /** One trace record: to its session's pages, held back until its connection is claimed, or dropped. */
  take(record, at) {
    if (record.conn === 0) return;
    const owner = this.owners.get(record.conn);
    if (owner === MUTED) return;
    if (owner === undefined) {
      let early = this.pending.get(record.conn);
      if (early === undefined) {
        if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value);
        this.pending.set(record.conn, (early = []));
      }
      if (early.length < MAX_PENDING_RECORDS) early.push([record, at]);
      return;
    }
    const session = this.sessions.get(owner.sid);
    if (session === undefined) return;
    session.outbox.push([record, owner.path, at]);
    if (!session.scheduled) {
      session.scheduled = true;
      // Not from inside the traced call: sending is I/O on another connection,
      // and finding a step's lines is work the traced call should not wait for.
      setImmediate(() => this.flush(session));
    }
  }

  flush(session) {
    session.scheduled = false;
    const records = session.outbox.splice(0).map(([record, path, at]) => present(record, path, at));
    session.history.push(...records);
    if (session.history.length > HISTORY) session.history.splice(0, session.history.length - HISTORY);
    this.tell(session, { type: 'records', records });
  }

  tell(session, message) {
    const text = JSON.stringify(message);
    for (const viewer of session.viewers) viewer.send(text).catch(() => {});
  }

  /** Before the /inspect handshake: a session from this server, and a page of this origin. */
  guard(req, res, next) {
    const origin = req.headers.origin;
    if (req.inspectorSession === null || req.inspectorSession === undefined) {
      res.status(403).type('text').send('no demo session: open the demo page first');
    } else if (origin !== undefined && new URL(origin).host !== req.headers.host) {
      res.status(403).type('text').send('the inspector answers pages of its own origin only');
    } else next();
  }

  /** The /inspect route: history first, then records as they come; lab requests from the page. */
  async viewer(ws, req) {
    const sid = req.inspectorSession;
    const session = this.sessions.get(sid);
    if (session === undefined) return;
    session.viewers.add(ws);
    try {
      await ws.send(JSON.stringify({ type: 'hello', records: session.history }));
      for await (const message of ws) this.onRequest(session, sid, req, String(message));
    } finally {
      session.viewers.delete(ws);
    }
  }

  onRequest(session, sid, req, text) {
    let ask;
    try {
      ask = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof ask.lab !== 'string') return;
    if (session.labRunning) {
      this.tell(session, { type: 'lab', name: ask.lab, error: 'another case is still running' });
      return;
    }
    session.labRunning = true;
    const code = Number.isInteger(ask.code) && ask.code >= 0 && ask.code <= 65535 ? ask.code : 4000;
    // The lab dials this server the way the page reached it.
    const host = req.socket.localAddress.replace(/^::ffff:/, '');
    runLab(ask.lab, {
      host,
      port: req.socket.localPort,
      cookie: `${COOKIE}=${sid}`,
      code,
      onClient: (ws, socket) => this.claim(ws, sid, "/echo, from the lab's raw client", socket),
      note: (ws, detail, bytes) => {
        const record = { conn: coreTraceId(ws), role: 'client', layer: 'lab', fn: 'lab', detail, bytes: bytes ?? null, size: bytes?.length ?? 0, headers: null };
        this.take(record, currentTurn());
      },
    })
      .then((result) => this.tell(session, { type: 'lab', name: ask.lab, result }))
      .catch((error) => this.tell(session, { type: 'lab', name: ask.lab, error: error.message }))
      .finally(() => {
        session.labRunning = false;
      });
  }
}

/**
 * Adds the inspector to the demo app: `GET /inspector/status` always (the
 * page asks it whether to show the panel); with `enabled`, the session
 * middleware, `/inspect`, the lab and `/source/…`. Call it before the app's
 * other routes and static files. Returns the inspector (`stop()` uninstalls
 * its trace sink), or null.
 */
function mountInspector(app, { enabled = false } = {}) {
  app.get('/inspector/status', (_req, res) => {
    res.json({ enabled });
  });
  if (!enabled) return null;
  const inspector = new Inspector();
  app.use(inspector.session);
  app.use('/source', sourcePage);
  app.ws('/inspect', inspector.guard, inspector.viewer);
  inspector.start();
  return inspector;
}

module.exports = { mountInspector, present, COOKIE };
