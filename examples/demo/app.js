// The demo app: an echo route and chat rooms on app.ws, and the page that
// drives them; with the inspector on, the page also watches its own traffic
// cross the layers (inspector.js). Exported as a function so tests can start
// it on port 0.
'use strict';
const path = require('node:path');
const express = require('express');
const { Sock } = require('@wsstack/express-sock');
const { mountInspector } = require('./inspector');

/**
 * Builds the Express app with its WebSocket routes; `inspector: true` adds
 * the trace inspector and the lab. `topics` is the registry the chat rooms
 * live in (server.js passes one with a Redis backplane when REDIS_URL is set).
 */
function createApp({ inspector = false, topics } = {}) {
  const app = express();
  const sock = new Sock(app, { pingInterval: 25000, ...(topics && { topics }) });
  app.locals.sock = sock;
  app.locals.inspector = mountInspector(app, { enabled: inspector });

  app.use(express.static(path.join(__dirname, 'public')));

  app.ws('/echo', async (ws) => {
    for await (const message of ws) await ws.send(message);
  });

  // A room is a topic: a message is framed once and written to every member
  // without waiting for any of them. A member that stops reading is closed
  // (1013) once 1 MiB waits for it; the others never notice.
  app.ws('/chat/:room', async (ws, req) => {
    const topic = `chat:${String(req.params.room).slice(0, 40)}`;
    ws.subscribe(topic); // membership ends when the connection closes
    for await (const message of ws) {
      const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
      sock.publish(topic, text.slice(0, 2000));
    }
  });

  return app;
}

module.exports = { createApp };
