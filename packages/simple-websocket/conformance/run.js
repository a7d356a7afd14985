// `npm run conformance`: every case against our Server and our Client over
// 127.0.0.1, a table per family, and a non-zero exit on any failure.
'use strict';
const { againstOurServer, againstOurClient } = require('./peer');
const { cases } = require('./cases');
const { frame, closePayload } = require('./wire');

const CASE_TIMEOUT = Number(process.env.CONFORMANCE_TIMEOUT || 10000);

const count = (events, type) => events.filter((e) => e.type === type).length;
const closeOf = (events) => events.find((e) => e.type === 'close');

/** Runs one case in one role; returns { pass, observed, ms }. */
async function runCase(role, c) {
  const options = { ...c.options };
  const { peer, stop } = role === 'server' ? await againstOurServer(options, c.offer) : await againstOurClient(options, c.response);
  const ev = peer.events;
  let answered = false;
  // Behave like an endpoint: answer a close we did not start; as the server, end the TCP connection.
  const answerClose = () => {
    const received = closeOf(ev);
    if (!received || answered) return;
    answered = true;
    if (!peer.sentClose) peer.socket.write(frame({ opcode: 0x8, payload: received.code === 1005 ? Buffer.alloc(0) : closePayload(received.code), mask: role === 'server' }));
    if (role === 'client') peer.socket.end();
  };
  const started = performance.now();
  try {
    for (const step of c.steps) {
      await peer.write(await peer.encode(step.frames), step.chunk);
      if (step.waitClose !== undefined) {
        if (!(await peer.until((e) => count(e, 'close') > 0, 2000))) return { pass: false, observed: `no close before the message ended (not fail-fast)` };
      }
    }
    const want = c.expect;
    if (want.close) {
      await peer.until((e) => count(e, 'close') > 0 || count(e, 'end') > 0, CASE_TIMEOUT);
      answerClose();
      await peer.until((e) => count(e, 'end') > 0, CASE_TIMEOUT);
      const got = closeOf(ev);
      const messages = ev.filter((e) => e.type === 'message');
      const ms = performance.now() - started;
      if (!got) return { pass: false, observed: count(ev, 'end') ? 'TCP closed without a close frame' : 'nothing', ms };
      if (!count(ev, 'end')) return { pass: false, observed: `close ${got.code}, but the TCP connection stayed open`, ms };
      // Messages before a close may be echoed or not: after its close frame an
      // endpoint sends no data (RFC 6455 5.5.1). None may differ or be extra.
      if (!sameMessages(messages, (want.messages ?? []).slice(0, messages.length))) {
        return { pass: false, observed: `close ${got.code} after ${messages.length} unexpected message(s)`, ms };
      }
      return { pass: want.close.includes(got.code), observed: `close ${got.code}`, ms };
    }
    const pongs = want.pongs ?? [];
    await peer.until((e) => count(e, 'message') >= want.messages.length && count(e, 'pong') >= pongs.length || count(e, 'close') > 0 || count(e, 'end') > 0, CASE_TIMEOUT);
    const ms = performance.now() - started;
    const messages = ev.filter((e) => e.type === 'message');
    const gotPongs = ev.filter((e) => e.type === 'pong').map((e) => e.data);
    const errors = ev.filter((e) => e.type === 'error');
    let observed = `${messages.length} message(s)${pongs.length ? `, ${gotPongs.length} pong(s)` : ''}`;
    let pass = errors.length === 0 && sameMessages(messages, want.messages) && gotPongs.length === pongs.length && gotPongs.every((p, i) => p.equals(pongs[i]));
    if (errors.length) observed += `; ${errors.map((e) => e.message).join(', ')}`;
    if (closeOf(ev)) {
      pass = false;
      observed += `; unexpected close ${closeOf(ev).code}`;
    } else {
      // A clean end: our close 1000 comes back and the connection closes.
      peer.sentClose = true;
      peer.socket.write(frame({ opcode: 0x8, payload: closePayload(1000), mask: role === 'server' }));
      await peer.until((e) => count(e, 'close') > 0, CASE_TIMEOUT);
      if (role === 'client') peer.socket.end();
      await peer.until((e) => count(e, 'end') > 0, CASE_TIMEOUT);
      const back = closeOf(ev);
      if (!back || back.code !== 1000 || !count(ev, 'end')) {
        pass = false;
        observed += back ? `; close answered with ${back.code}` : '; our close was not answered';
      }
    }
    return { pass, observed, ms };
  } finally {
    peer.destroy();
    await stop();
  }
}

function sameMessages(got, want) {
  return got.length === want.length && got.every((m, i) => m.opcode === want[i].opcode && m.data.equals(want[i].data));
}

function describe(expect) {
  if (expect.close) return `${expect.messages?.length ? `echo ≤ ${expect.messages.length}, ` : ''}close ${expect.close.join('/')}`;
  return `echo ${expect.messages.length}${expect.pongs ? `, pong ${expect.pongs.length}` : ''}`;
}

async function main() {
  const only = process.argv[2]; // e.g. "6" to run one family
  const selected = only ? cases.filter((c) => String(c.family) === only) : cases;
  const results = [];
  for (const role of ['server', 'client']) {
    for (const c of selected) {
      let r;
      try {
        r = await Promise.race([
          runCase(role, c),
          new Promise((resolve) => setTimeout(() => resolve({ pass: false, observed: 'timed out' }), CASE_TIMEOUT * 3).unref()),
        ]);
      } catch (error) {
        r = { pass: false, observed: `error: ${error.message}` };
      }
      results.push({ role, c, ...r });
    }
  }
  const families = [...new Set(results.map((r) => r.c.family))];
  const summary = [];
  for (const family of families) {
    const rows = results.filter((r) => r.c.family === family);
    console.log(`\n## Family ${family}\n`);
    console.log('| case | role | RFC | what | expected | observed | ms | result |');
    console.log('|---|---|---|---|---|---|---:|---|');
    for (const r of rows) {
      console.log(`| ${r.c.id} | ours as ${r.role} | ${r.c.section} | ${r.c.desc} | ${describe(r.c.expect)} | ${r.observed} | ${r.ms === undefined ? '' : r.ms.toFixed(0)} | ${r.pass ? 'PASS' : '**FAIL**'} |`);
    }
    for (const role of ['server', 'client']) {
      const mine = rows.filter((r) => r.role === role);
      summary.push(`family ${family} ours as ${role}: ${mine.filter((r) => r.pass).length}/${mine.length}`);
    }
  }
  const failed = results.filter((r) => !r.pass);
  console.log(`\n${summary.join('\n')}\n\nconformance: ${results.length - failed.length} passed, ${failed.length} failed (${results.length} cases, both roles)`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
