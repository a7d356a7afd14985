// A project outside the repository, written as a user would: app.ws and
// router.ws with middleware, under `strict` (and the skipLibCheck that
// `tsc --init` sets), on the packages installed from their tarballs.
// install.test.js type-checks it against Express 4 and Express 5, runs it,
// and reads the JSON it prints.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Sock } from '@wsstack/express-sock';
import { Client, ConnectionClosed, ConnectionError } from '@wsstack/simple-websocket';
import { generateAcceptToken } from '@wsstack/wsproto';

const app = express();
new Sock(app);

app.ws('/echo', async (ws) => {
  for await (const message of ws) await ws.send(message);
});

const rooms = express.Router();
const requireName: express.RequestHandler = (req, res, next) => {
  if (req.query.name) next();
  else res.status(401).end();
};
rooms.ws('/:id', requireName, async (ws, req) => {
  // Without a timeout, receive() resolves a message: no `!` needed.
  const message: string | Uint8Array = await ws.receive();
  await ws.send(`${req.params.id}, ${String(req.query.name)}: ${String(message)}`);
});
app.use('/rooms', rooms);

async function main(): Promise<void> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const echo = await Client.connect(`ws://127.0.0.1:${port}/echo`);
  await echo.send('hello');
  const echoed = await echo.receive({ timeout: 5000 });
  await echo.close();

  const room = await Client.connect(`ws://127.0.0.1:${port}/rooms/lobby?name=ada`);
  await room.send('hi');
  const reply = await room.receive();
  let closeCode = 0;
  try {
    await room.receive();
  } catch (error) {
    if (error instanceof ConnectionClosed) closeCode = error.code;
  }

  let refused = 0;
  try {
    await Client.connect(`ws://127.0.0.1:${port}/rooms/lobby`);
  } catch (error) {
    if (error instanceof ConnectionError) refused = error.statusCode ?? -1;
  }

  server.close();
  const accept = generateAcceptToken('dGhlIHNhbXBsZSBub25jZQ==');
  process.stdout.write(JSON.stringify({ echoed, reply, closeCode, refused, accept }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
