import { CloseConnection, Ping, Pong, RejectConnection, TextMessage, type Event } from '../src/events';

describe('events', () => {
  it('fill in the documented defaults', () => {
    expect(new RejectConnection()).toMatchObject({ statusCode: 400, headers: [], hasBody: false });
    expect(new TextMessage({ data: 'x' })).toMatchObject({ frameFinished: true, messageFinished: true });
    expect(new CloseConnection({ code: 1000 }).reason).toBe('');
    expect(new Ping().payload).toEqual(new Uint8Array(0));
  });

  it('narrow on the type tag', () => {
    const ev: Event = new Ping({ payload: new Uint8Array([1]) });
    const seen = ev.type === 'Ping' ? ev.response() : null;
    expect(seen).toBeInstanceOf(Pong);
    expect(seen?.payload).toEqual(new Uint8Array([1]));
  });

  it('answer a close with the same code and reason', () => {
    expect(new CloseConnection({ code: 4001, reason: 'bye' }).response()).toMatchObject({ code: 4001, reason: 'bye' });
  });

  it('answer a close without a code (1005) with an empty close, and never send 1006 or 1015', () => {
    expect(new CloseConnection({ code: 1005 }).response().code).toBe(1005);
    expect(new CloseConnection({ code: 1006 }).response().code).toBe(1000);
    expect(new CloseConnection({ code: 1015 }).response().code).toBe(1000);
  });
});
