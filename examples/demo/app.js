// The demo app: an echo route and chat rooms on app.ws, and the page that
// drives them; with the inspector on, the page also watches its own traffic
// cross the layers (inspector.js). Exported as a function so tests can start
// it on port 0.
'use strict';
const path = require('node:path');
const express = require('express');
const { Sock } = require('@wsstack/express-sock');
const { mountInspector } = require('./inspector');

/** Builds the Express app with its WebSocket routes; `inspector: true` adds the trace inspector and the lab. */
function createApp({ inspector = false } = {}) {
  const app = express();
  new Sock(app, { pingInterval: 25000 });
  app.locals.inspector = mountInspector(app, { enabled: inspector });
  /** @type {Map<string, Set<import('@wsstack/simple-websocket').Server>>} */
  const rooms = new Map();

  app.use(express.static(path.join(__dirname, 'public')));

  app.ws('/echo', async (ws) => {
    for await (const message of ws) await ws.send(message);
  });

  app.ws('/chat/:room', async (ws, req) => {
    const name = String(req.params.room).slice(0, 40);
    let room = rooms.get(name);
    if (!room) rooms.set(name, (room = new Set()));
    room.add(ws);
    try {
      for await (const message of ws) {
        const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
        // One slow or dead member must not hold up the others.
        await Promise.allSettled([...room].map((member) => member.send(text.slice(0, 2000))));
      }
    } finally {
      room.delete(ws);
      if (room.size === 0) rooms.delete(name);
    }
  });

  return app;
}

module.exports = { createApp };
