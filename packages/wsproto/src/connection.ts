/**
 * The WebSocket connection after the handshake: frames in, events out,
 * events in, bytes out. Mirrors wsproto's `connection.py`.
 *
 * @module
 */
import { CloseReason, decodeClosePayload, truncateReason } from './close-reason';
import { LocalProtocolError, ParseFailed } from './errors';
import { BytesMessage, CloseConnection, Ping, Pong, TextMessage, type Event } from './events';
import type { Extension } from './extensions';
import { FrameProtocol, type Frame, type FrameProtocolInit } from './frame-protocol';
import { Opcode } from './opcode';
import { DEFAULT_OPTIONS, type ConnectionOptions } from './options';
import { trace, traceEvent, tracing } from './trace';

/** Which end of the connection this is. Clients mask their frames; servers do not. */
export enum ConnectionType {
  CLIENT = 'CLIENT',
  SERVER = 'SERVER',
}

/**
 * The connection's state (wsproto's `ConnectionState`).
 *
 * CONNECTING → OPEN (handshake done) or REJECTING (server refused);
 * OPEN → LOCAL_CLOSING (we sent a close) or REMOTE_CLOSING (a close arrived,
 * or the peer broke the protocol and we owe it a close);
 * either closing state → CLOSED when the other side's close is sent or
 * received, and any state → CLOSED at transport EOF.
 */
export enum ConnectionState {
  CONNECTING = 'CONNECTING',
  OPEN = 'OPEN',
  REMOTE_CLOSING = 'REMOTE_CLOSING',
  LOCAL_CLOSING = 'LOCAL_CLOSING',
  CLOSED = 'CLOSED',
  REJECTING = 'REJECTING',
}

/**
 * The moves a {@link Connection} may make, from each state it can be in
 * (CONNECTING and REJECTING belong to the handshake). Every change of state
 * goes through `Connection.to()`, which checks this table.
 */
const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  [ConnectionState.CONNECTING]: [],
  [ConnectionState.OPEN]: [ConnectionState.LOCAL_CLOSING, ConnectionState.REMOTE_CLOSING, ConnectionState.CLOSED],
  [ConnectionState.LOCAL_CLOSING]: [ConnectionState.CLOSED],
  [ConnectionState.REMOTE_CLOSING]: [ConnectionState.CLOSED],
  [ConnectionState.CLOSED]: [],
  [ConnectionState.REJECTING]: [],
};

/** Settings of a {@link Connection}: the limits plus what the handshake settled. */
export interface ConnectionInit extends ConnectionOptions {
  /** Which end this is. */
  type: ConnectionType;
  /** Extensions the handshake negotiated (enabled ones take part). */
  extensions?: readonly Extension[];
  /** Bytes that followed the handshake in the same chunk: the first frames. */
  trailingData?: Uint8Array;
}

/**
 * The connection after the handshake (wsproto's `Connection`): received
 * bytes become events, events to send become bytes. Starts OPEN.
 *
 * It never answers on its own: a {@link Ping} or {@link CloseConnection} it
 * yields carries `response()`, and the caller sends that.
 */
export class Connection {
  private _state = ConnectionState.OPEN;
  private readonly proto: FrameProtocol;
  private eof = false;
  /** No more frames are parsed: the peer closed or broke the protocol. */
  private stopped = false;

  constructor(init: ConnectionInit) {
    const frameInit: FrameProtocolInit = {
      client: init.type === ConnectionType.CLIENT,
      maxMessageSize: init.maxMessageSize ?? DEFAULT_OPTIONS.maxMessageSize,
      maxFragments: init.maxFragments ?? DEFAULT_OPTIONS.maxFragments,
    };
    if (init.extensions) frameInit.extensions = init.extensions;
    if (init.random) frameInit.random = init.random;
    this.proto = new FrameProtocol(frameInit);
    if (init.trailingData && init.trailingData.length > 0) this.receiveData(init.trailingData);
  }

  /** The state as of the events yielded so far. */
  get state(): ConnectionState {
    return this._state;
  }

  /** Which end this is. */
  get type(): ConnectionType {
    return this.proto.client ? ConnectionType.CLIENT : ConnectionType.SERVER;
  }

  /**
   * Feeds received bytes, or `null` when the transport reached EOF. Takes
   * ownership of `data` (masked payloads are unmasked in place). Bytes after
   * CLOSED, after EOF, or after the peer's close or violation are ignored.
   */
  receiveData(data: Uint8Array | null): void {
    if (this._state === ConnectionState.CLOSED) return;
    if (data === null) {
      this.eof = true;
      return;
    }
    if (this.eof || this.stopped) return;
    this.proto.receiveBytes(data);
  }

  /**
   * Yields the events the received bytes complete. Lazy: `state` changes as
   * the event that changes it is yielded. A peer's violation ends the stream
   * with a {@link CloseConnection} carrying the close code (state
   * REMOTE_CLOSING; send `event.response()`); EOF ends it with code 1006
   * (state CLOSED).
   */
  *events(): Generator<Event> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  /**
   * The next event the received bytes complete, or null when more bytes are
   * needed: {@link events} without the generator, for a reader's hot loop.
   * Same order, same state changes.
   */
  nextEvent(): Event | null {
    if (!this.stopped && this._state !== ConnectionState.CLOSED) {
      let frame: Frame | null;
      try {
        frame = this.proto.nextFrame();
      } catch (error) {
        if (!(error instanceof ParseFailed)) throw error;
        // The peer broke the protocol: we owe it a close with the code.
        this.stopped = true;
        this.to(ConnectionState.REMOTE_CLOSING);
        const failure = new CloseConnection({ code: error.code, reason: truncateReason(error.message) });
        if (tracing) trace('wsproto', 'Connection.nextEvent', traceEvent(failure));
        return failure;
      }
      if (frame !== null) {
        const event = this.toEvent(frame);
        if (tracing) trace('wsproto', 'Connection.nextEvent', traceEvent(event));
        return event;
      }
    }
    if (this.eof && this._state !== ConnectionState.CLOSED) {
      this.to(ConnectionState.CLOSED);
      return new CloseConnection({ code: CloseReason.ABNORMAL_CLOSURE });
    }
    return null;
  }

  /** One received frame (or piece) as an event; a close also moves the state. */
  private toEvent(frame: Frame): Event {
    switch (frame.opcode) {
      case Opcode.TEXT:
        return new TextMessage({
          data: frame.payload as string,
          frameFinished: frame.frameFinished,
          messageFinished: frame.messageFinished,
        });
      case Opcode.BINARY:
        return new BytesMessage({
          data: frame.payload as Uint8Array,
          frameFinished: frame.frameFinished,
          messageFinished: frame.messageFinished,
        });
      case Opcode.PING:
        return new Ping({ payload: frame.payload as Uint8Array });
      case Opcode.PONG:
        return new Pong({ payload: frame.payload as Uint8Array });
      default: {
        // CLOSE (the frame layer yields no other opcode); already validated.
        const { code, reason } = decodeClosePayload(frame.payload as Uint8Array);
        this.stopped = true;
        // RFC 6455 5.5.1: a close answering ours completes the handshake.
        this.to(this._state === ConnectionState.LOCAL_CLOSING ? ConnectionState.CLOSED : ConnectionState.REMOTE_CLOSING);
        return new CloseConnection({ code, reason });
      }
    }
  }

  /**
   * The bytes that send `event`. Data messages, Ping and Pong in OPEN or
   * REMOTE_CLOSING (RFC 6455 5.5.1 forbids data only after our own close, so
   * an application may finish answering what arrived before the peer's
   * close); CloseConnection in OPEN (→ LOCAL_CLOSING) or REMOTE_CLOSING
   * (→ CLOSED). A message with `messageFinished` false is continued by the
   * next message sent.
   *
   * @throws LocalProtocolError WS_BAD_STATE when the state forbids the event,
   *   WS_BAD_EVENT when its fields are invalid (the state is then unchanged)
   */
  send(event: Event): Uint8Array {
    if (event.type === 'TextMessage' || event.type === 'BytesMessage') {
      this.checkCanSend(event.type);
      return this.proto.sendData(event.data, event.messageFinished);
    }
    return this.controlFrame(event);
  }

  /**
   * The bytes that send `event`, as parts to write in order: a gathered
   * write (`writev`, or `cork()`, a `write` per part, `uncork()`). On the
   * server side a data message's payload comes back as its own part beside
   * its header, so it is never copied: a large message costs no copy at
   * all. Everything else is one part, as {@link send} returns it. Same
   * rules and errors as {@link send}.
   *
   * Parts are read-only: the payload part is the caller's own array (leave
   * it unchanged until it is written), and this connection's next frame of
   * the same kind and length gets the same header array.
   */
  sendParts(event: Event): Uint8Array[] {
    if (event.type === 'TextMessage' || event.type === 'BytesMessage') {
      this.checkCanSend(event.type);
      return this.proto.sendDataParts(event.data, event.messageFinished);
    }
    return [this.controlFrame(event)];
  }

  /** Ping, Pong and CloseConnection; any other event is not allowed now. */
  private controlFrame(event: Event): Uint8Array {
    const state = this._state;
    switch (event.type) {
      case 'Ping':
        this.checkCanSend(event.type);
        return this.proto.ping(event.payload);
      case 'Pong':
        this.checkCanSend(event.type);
        return this.proto.pong(event.payload);
      case 'CloseConnection': {
        this.checkCanSend(event.type);
        const bytes = this.proto.close(event.code, event.reason);
        this.to(state === ConnectionState.OPEN ? ConnectionState.LOCAL_CLOSING : ConnectionState.CLOSED);
        return bytes;
      }
      default:
        throw badState(event.type, state);
    }
  }

  /** Frames go out in OPEN and REMOTE_CLOSING only. */
  private checkCanSend(type: string): void {
    const state = this._state;
    if (state !== ConnectionState.OPEN && state !== ConnectionState.REMOTE_CLOSING) throw badState(type, state);
  }

  /** The one place the state changes. */
  private to(next: ConnectionState): void {
    if (!TRANSITIONS[this._state].includes(next)) {
      throw new Error(`internal: connection transition ${this._state} → ${next}`);
    }
    this._state = next;
  }
}

function badState(type: string, state: ConnectionState): LocalProtocolError {
  return new LocalProtocolError(`cannot send ${type} in state ${state}`, 'WS_BAD_STATE');
}
