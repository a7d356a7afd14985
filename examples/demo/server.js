// `npm start`: the demo on http://127.0.0.1:3000 (PORT to change it), with
// the inspector on (WSSTACK_INSPECTOR=0 to run it without). With REDIS_URL
// set, the chat rooms go through Redis, so several processes share them.
'use strict';
const { createApp } = require('./app');

const port = Number(process.env.PORT || 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`wsstack demo: PORT must be a port number (0 to 65535), not ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}
const inspector = process.env.WSSTACK_INSPECTOR !== '0';

/** The chat rooms' registry: with a Redis backplane when REDIS_URL is set, else the app's own. */
async function roomTopics() {
  const url = process.env.REDIS_URL;
  if (!url) return undefined;
  const { Topics } = require('@wsstack/simple-websocket');
  const { RedisBackplane } = require('@wsstack/redis');
  const topics = new Topics();
  try {
    await RedisBackplane.connect(topics, { url, onError: (error) => console.error(`wsstack demo: Redis: ${error.message}`) });
  } catch (error) {
    console.error(`wsstack demo: REDIS_URL is set but Redis cannot be reached: ${error.message}`);
    process.exit(1);
  }
  return topics;
}

roomTopics().then((topics) => {
  // Express 5 hands a failed listen (a port in use, a port below 1024 without
  // the right) to this callback, and the server then has no address.
  const server = createApp({ inspector, topics }).listen(port, '127.0.0.1', (error) => {
    if (error) {
      console.error(listenProblem(error));
      process.exit(1);
    }
    const notes = [inspector && 'inspector on', topics && 'rooms through Redis'].filter(Boolean);
    console.log(`wsstack demo: http://127.0.0.1:${server.address().port}${notes.length ? ` (${notes.join(', ')})` : ''}`);
  });
});

/** What went wrong, and what to do about it. */
function listenProblem(error) {
  const next = port === 65535 ? 3000 : port + 1;
  const choose = `choose another port: PORT=${next} npm start`;
  if (error.code === 'EADDRINUSE') {
    return `wsstack demo: port ${port} on 127.0.0.1 is already in use (EADDRINUSE). Stop what is using it, or ${choose}`;
  }
  if (error.code === 'EACCES') {
    return `wsstack demo: no permission to listen on port ${port} (EACCES); ${choose}`;
  }
  return `wsstack demo: cannot listen on 127.0.0.1:${port}: ${error.message}; ${choose}`;
}
