/**
 * wss:// both ways with a self-signed certificate made by openssl for this run.
 */
import { Client } from '../src';
import { makeCertificate, openWs, startOurServer, startWsServer, wsMessages } from './helpers';
import type { WebSocket } from 'ws';

describe('TLS', () => {
  const { key, cert } = makeCertificate();

  test('our Client talks to an https + ws server with tls: { ca }', async () => {
    const server = await startWsServer({}, { key, cert });
    server.wss.on('connection', (peer: WebSocket) => peer.on('message', (data: Buffer) => peer.send(`echo ${data.toString()}`)));
    try {
      const client = await Client.connect(server.url, { tls: { ca: cert } });
      await client.send('secure');
      expect(await client.receive()).toBe('echo secure');
      await client.close();
      expect(client.closeCode).toBe(1000);
    } finally {
      await server.close();
    }
  });

  test('our Client refuses a certificate it does not trust', async () => {
    const server = await startWsServer({}, { key, cert });
    try {
      await expect(Client.connect(server.url)).rejects.toMatchObject({ code: 'WS_CONNECT_FAILED' });
    } finally {
      await server.close();
    }
  });

  test('a ws client talks to our Server on tls.createServer', async () => {
    const server = await startOurServer(
      'tls',
      async (ws) => {
        for await (const message of ws) await ws.send(message);
      },
      undefined,
      { key, cert },
    );
    try {
      const client = await openWs(server.url, undefined, { ca: cert });
      const replies = wsMessages(client, 2);
      client.send('over tls');
      client.send(Buffer.from([1, 2, 3]));
      const got = await replies;
      expect(got[0]).toBe('over tls');
      expect(got[1]).toEqual(Buffer.from([1, 2, 3]));
      client.close();
    } finally {
      await server.close();
    }
  });
});
