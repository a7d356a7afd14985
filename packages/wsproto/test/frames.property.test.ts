import fc from 'fast-check';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionType,
  Ping,
  Pong,
  TextMessage,
  type Event,
} from '@wsstack/wsproto';
import { concat, joinMessages, type Message } from './helpers/frames';

/** One step of a conversation: a message in fragments, or a control frame. */
type Step =
  | { kind: 'text'; parts: string[] }
  | { kind: 'bytes'; parts: Uint8Array[] }
  | { kind: 'ping' | 'pong'; payload: Uint8Array };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), parts: fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('bytes' as const), parts: fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constantFrom('ping' as const, 'pong' as const), payload: fc.uint8Array({ maxLength: 125 }) }),
);

/** Sends the steps (and a close) through `sender`; returns the wire bytes and the expected messages. */
function sendSteps(sender: Connection, steps: Step[], close: { code: number; reason: string }): { wire: Uint8Array; expected: Message[] } {
  const out: Uint8Array[] = [];
  const expected: Message[] = [];
  for (const step of steps) {
    if (step.kind === 'text') {
      step.parts.forEach((data, i) => out.push(sender.send(new TextMessage({ data, messageFinished: i === step.parts.length - 1 }))));
      expected.push({ text: step.parts.join('') });
    } else if (step.kind === 'bytes') {
      step.parts.forEach((data, i) => out.push(sender.send(new BytesMessage({ data, messageFinished: i === step.parts.length - 1 }))));
      expected.push({ bytes: step.parts.flatMap((p) => Array.from(p)) });
    } else {
      const Ctor = step.kind === 'ping' ? Ping : Pong;
      out.push(sender.send(new Ctor({ payload: step.payload })));
      expected.push({ [step.kind]: Array.from(step.payload) } as Message);
    }
  }
  out.push(sender.send(new CloseConnection(close)));
  expected.push({ close: close.code, reason: close.reason });
  return { wire: concat(out), expected };
}

/** Feeds `wire` split at `cuts` (copies: the connection unmasks in place). */
function receiveSplit(receiver: Connection, wire: Uint8Array, cuts: number[]): Event[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const events: Event[] = [];
  let last = 0;
  for (const p of [...points, wire.length]) {
    receiver.receiveData(wire.slice(last, p));
    last = p;
    events.push(...receiver.events());
  }
  return events;
}

const closeArb = fc.record({
  code: fc.oneof(fc.integer({ min: 1000, max: 1003 }), fc.integer({ min: 1007, max: 1014 }), fc.integer({ min: 3000, max: 4999 })),
  reason: fc.string({ maxLength: 30 }),
});

describe('round trips', () => {
  test.each([
    ['client → server', ConnectionType.CLIENT, ConnectionType.SERVER],
    ['server → client', ConnectionType.SERVER, ConnectionType.CLIENT],
  ])('%s: random messages, fragments and control frames, split anywhere', (_name, from, to) => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 8 }), closeArb, fc.array(fc.nat(), { maxLength: 20 }), (steps, close, cuts) => {
        const { wire, expected } = sendSteps(new Connection({ type: from }), steps, close);
        const events = receiveSplit(new Connection({ type: to }), wire, cuts);
        expect(joinMessages(events)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  test('one byte at a time gives the same messages', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 3 }), closeArb, (steps, close) => {
        const { wire, expected } = sendSteps(new Connection({ type: ConnectionType.CLIENT }), steps, close);
        const cuts = Array.from({ length: wire.length }, (_, i) => i);
        expect(joinMessages(receiveSplit(new Connection({ type: ConnectionType.SERVER }), wire, cuts))).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });
});

describe('hostile input', () => {
  const allowed = new Set([1002, 1007, 1009]);

  function check(type: ConnectionType, wire: Uint8Array, cuts: number[]): Event[] {
    const conn = new Connection({ type, maxMessageSize: 4096, maxFragments: 16 });
    const events = receiveSplit(conn, wire, cuts);
    for (const e of events) {
      if (e instanceof CloseConnection && !allowed.has(e.code)) {
        // A well-formed close the bytes happened to contain is allowed too.
        expect(e.code === 1005 || (e.code >= 1000 && e.code <= 4999)).toBe(true);
      }
    }
    return events;
  }

  test('random bytes never throw; violations give only 1002, 1007 or 1009', () => {
    fc.assert(
      fc.property(fc.constantFrom(ConnectionType.SERVER, ConnectionType.CLIENT), fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), (type, wire, cuts) => {
        const events = check(type, wire, cuts);
        // At most one close, and it is the last event.
        const closes = events.filter((e) => e instanceof CloseConnection);
        expect(closes.length).toBeLessThanOrEqual(1);
        if (closes.length === 1) expect(events.at(-1)).toBe(closes[0]);
      }),
      { numRuns: 500 },
    );
  });

  test('corrupted valid streams: same messages and same final close for every split', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 5 }),
        closeArb,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 15 }),
        (steps, close, flips, cuts) => {
          const { wire } = sendSteps(new Connection({ type: ConnectionType.CLIENT }), steps, close);
          for (const f of flips) if (wire.length > 0) wire[f.at % wire.length] = f.value;
          const whole = joinMessages(check(ConnectionType.SERVER, wire, []));
          const split = joinMessages(check(ConnectionType.SERVER, wire, cuts));
          expect(split).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
