/**
 * The input queue on its own: order, timeouts, the high-water mark, and a
 * close that lets queued messages out before the error.
 */
import { ConnectionClosed } from '../src';
import { MessageQueue } from '../src/message-queue';

function queue(
  maxMessages = 4,
  maxBytes = 1024,
  quiet = (error: Error) => error instanceof ConnectionClosed && error.code === 1000,
): { q: MessageQueue; lows: () => number; left: () => number } {
  let lows = 0;
  let left = 0;
  const q = new MessageQueue({ onQueueLow: () => lows++, onQueueDrained: () => {}, endsQuietly: quiet, onIterationLeft: () => left++, socket: {} }, maxMessages, maxBytes);
  return { q, lows: () => lows, left: () => left };
}

test('next() gives iterator results to a parked iterator and to a queued message alike', async () => {
  const { q } = queue();
  const parked = q.next();
  q.push('a');
  q.push('b');
  expect(await parked).toEqual({ value: 'a', done: false });
  expect(await q.next()).toEqual({ value: 'b', done: false });
});

test('next() ends quietly on a close the owner calls normal, after the queued messages', async () => {
  const { q } = queue();
  q.push('last');
  q.close(new ConnectionClosed(1000, 'bye'));
  expect(await q.next()).toEqual({ value: 'last', done: false });
  expect(await q.next()).toEqual({ value: undefined, done: true });
  const parkedThenClosed = queue();
  const parked = parkedThenClosed.q.next();
  parkedThenClosed.q.close(new ConnectionClosed(1000, ''));
  expect(await parked).toEqual({ value: undefined, done: true });
});

test('next() rejects with any other close, parked or not', async () => {
  const { q } = queue();
  const parked = q.next();
  q.close(new ConnectionClosed(1006, 'lost'));
  await expect(parked).rejects.toMatchObject({ code: 1006 });
  await expect(q.next()).rejects.toMatchObject({ code: 1006 });
});

test('hands messages out in order, to waiting receivers first', async () => {
  const { q } = queue();
  const waiting = q.shift();
  q.push('a');
  q.push(new Uint8Array([1]));
  q.push('b');
  expect(await waiting).toBe('a');
  expect(q.length).toBe(2);
  expect(await q.shift()).toEqual(new Uint8Array([1]));
  expect(await q.shift()).toBe('b');
});

test('a timeout resolves undefined and leaves later messages for the next receiver', async () => {
  const { q } = queue();
  expect(await q.shift(20)).toBeUndefined();
  expect(await q.shift(0)).toBeUndefined();
  q.push('late');
  expect(q.length).toBe(1);
  expect(await q.shift(20)).toBe('late');
});

test('is full at the message or byte mark and reports when drained to half', async () => {
  const { q, lows } = queue(4, 100);
  for (const m of ['1', '2', '3']) q.push(m);
  expect(q.isFull()).toBe(false);
  q.push('4');
  expect(q.isFull()).toBe(true);
  await q.shift();
  expect(lows()).toBe(0); // 3 left: above half of 4
  await q.shift();
  expect(lows()).toBe(1);
  const { q: bytes } = queue(100, 100);
  bytes.push(new Uint8Array(60));
  expect(bytes.isFull()).toBe(false);
  bytes.push(new Uint8Array(60));
  expect(bytes.isFull()).toBe(true);
});

test('close lets queued messages out, then rejects every receiver with the close', async () => {
  const { q } = queue();
  q.push('x');
  q.close(new ConnectionClosed(1001, 'away'));
  expect(await q.shift()).toBe('x');
  await expect(q.shift()).rejects.toMatchObject({ code: 1001, reason: 'away' });
  const { q: idle } = queue();
  const pending = [idle.shift(), idle.shift(1000)];
  idle.close(new ConnectionClosed(1006));
  for (const p of pending) await expect(p).rejects.toBeInstanceOf(ConnectionClosed);
});

test('leaving a for await loop early tells the owner; a loop that runs to the end does not', async () => {
  const early = queue();
  early.q.push('a');
  early.q.push('b');
  for await (const message of early.q) {
    expect(message).toBe('a');
    break;
  }
  expect(early.left()).toBe(1);
  expect(await early.q.shift(0)).toBe('b'); // what was queued stays receivable

  const whole = queue();
  whole.q.push('a');
  whole.q.close(new ConnectionClosed(1000, ''));
  const seen: unknown[] = [];
  for await (const message of whole.q) seen.push(message);
  expect(seen).toEqual(['a']);
  expect(whole.left()).toBe(0);
});

test('a receiver that finds the queue closed and empty tells the owner (the application took every message); taking the last one does not', async () => {
  let drained = 0;
  const q = new MessageQueue({ onQueueLow: () => {}, onQueueDrained: () => drained++, endsQuietly: () => true, onIterationLeft: () => {}, socket: {} }, 4, 1024);
  q.push('a');
  q.push('b');
  q.close(new ConnectionClosed(1000, ''));
  expect(await q.shift()).toBe('a');
  expect(await q.next()).toEqual({ value: 'b', done: false });
  expect(drained).toBe(0);
  expect(await q.next()).toEqual({ value: undefined, done: true });
  expect(drained).toBe(1);
  await expect(q.shift(0)).rejects.toMatchObject({ code: 1000 });
  expect(drained).toBe(2);
});
