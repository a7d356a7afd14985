/**
 * `Sock`: WebSocket routes for an Express app, as flask-sock's `Sock` is for
 * Flask. `sock.route(path, handler)` (also usable as a decorator),
 * `app.ws(path, ...middleware, handler)` and `router.ws(...)`.
 *
 * @module
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { ConnectionClosed, ConnectionError, Server, Topics, type PublishOptions, type ServerOptions } from '@wsstack/simple-websocket';
import { traceFor, tracing } from '@wsstack/simple-websocket/internal';
import { attachUpgrades, takeUpgrade, upgradeOf, type RequestHandlerLike } from './upgrade-dispatch';

/** The Express request a handler receives (typed loosely so Express 4 and 5 both fit). */
export type SockRequest = IncomingMessage & { params?: Record<string, string>; query?: unknown };

/** A WebSocket route handler: runs once per connection; the connection closes when it returns. */
export type Handler = (ws: Server, req: SockRequest) => void | Promise<void>;

/** Options of a {@link Sock}, and of one route (which override the Sock's). */
export interface SockOptions extends ServerOptions {
  /**
   * Called with a handler's error after the connection was closed with 1011.
   * Default: the error goes to the app's error handling (`next(err)`).
   */
  onError?: (err: unknown, req: SockRequest) => void;
}

type Next = (err?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => unknown;

/** The parts of an Express app (4 or 5) that Sock uses. */
interface AppLike extends RequestHandlerLike {
  get(path: unknown, ...handlers: Middleware[]): unknown;
  listen(...args: unknown[]): HttpServer;
  ws?: unknown;
  router?: unknown;
  _router?: unknown;
  lazyrouter?: () => void;
}

interface RouterLike {
  get(path: unknown, ...handlers: Middleware[]): unknown;
}

const kPatched = Symbol('wsstack.sock');

/** Passes upgrade requests on to the ws route; plain HTTP requests skip it (`next('route')`). */
const upgradesOnly: Middleware = (req, _res, next) => next(upgradeOf(req) ? undefined : 'route');

/**
 * WebSocket routes for an Express app.
 *
 * ```ts
 * const sock = new Sock(app);
 * sock.route('/echo', async (ws) => { for await (const m of ws) await ws.send(m); });
 * app.listen(3000);
 * ```
 */
export class Sock {
  private app: AppLike | null = null;
  private readonly pending: Array<[path: string, handler: Handler, options: SockOptions | undefined]> = [];
  private readonly options: SockOptions;
  /**
   * The topics of this app's connections: `ws.subscribe(topic)` in a route
   * joins this registry (the `topics` option, else one of its own).
   */
  readonly topics: Topics;

  /**
   * @param app - an Express app to bind now (or later with {@link initApp})
   * @param options - defaults for every route: passed to `Server.accept`
   */
  constructor(app?: unknown, options: SockOptions = {}) {
    this.topics = options.topics ?? new Topics();
    this.options = { ...options, topics: this.topics };
    if (app !== undefined) this.initApp(app);
  }

  /**
   * Publishes `data` to every connection of this app subscribed to `topic`
   * (and, with a backplane, to every other process's); returns at once with
   * the number of local members it was written to. See `Topics.publish`.
   */
  publish(topic: string, data: string | Uint8Array, options?: PublishOptions): number {
    return this.topics.publish(topic, data, options);
  }

  /**
   * Binds the app: adds `app.ws` and `router.ws`, registers routes declared
   * before, and makes `app.listen()` attach the servers it creates.
   */
  initApp(app: unknown): void {
    const target = app as AppLike;
    this.app = target;
    const routeFor = (options?: SockOptions) => (handler: Handler) => this.wsEntry(handler, options);
    const register = (router: RouterLike, path: unknown, handlers: unknown[]) => this.register(router, path, handlers, routeFor());
    const attach = (server: HttpServer) => this.attach(server);
    target.ws = function ws(this: AppLike, path: unknown, ...handlers: unknown[]) {
      return register(this, path, handlers);
    };
    patchRouter(routerPrototype(target), register);
    const listen = target.listen.bind(target);
    target.listen = (...args: unknown[]): HttpServer => {
      const server = listen(...args);
      attach(server);
      return server;
    };
    for (const [path, handler, options] of this.pending.splice(0)) this.register(target, path, [handler], routeFor(options));
  }

  /**
   * Routes the upgrades of a server made by hand (`http.createServer(app)`,
   * `https.createServer(options, app)`). `app.listen()` does this itself.
   */
  attach(server: HttpServer): void {
    if (this.app === null) throw new Error('Sock.attach: call initApp(app) (or new Sock(app)) first');
    attachUpgrades(server, this.app);
  }

  /** Registers `handler` for `path`. */
  route(path: string, handler: Handler, options?: SockOptions): void;
  /**
   * Returns a registrar for `path`: call it with a handler, or use it as a
   * method decorator (`@sock.route('/echo')`).
   */
  route(path: string, options?: SockOptions): RouteDecorator;
  route(path: string, handlerOrOptions?: Handler | SockOptions, options?: SockOptions): void | RouteDecorator {
    if (typeof handlerOrOptions === 'function') {
      this.add(path, handlerOrOptions, options);
      return;
    }
    const routeOptions = handlerOrOptions;
    return ((method: Handler, context?: ClassMethodDecoratorContext): void => {
      if (context === undefined || context.kind !== 'method') {
        this.add(path, method, routeOptions);
        return;
      }
      // A method decorator: call the method on the instance (or the class, for
      // a static method) that the decorator's initializer saw last.
      const holder: { self?: unknown } = {};
      context.addInitializer(function (this: unknown) {
        holder.self = this;
      });
      this.add(path, (ws, req) => method.call(holder.self, ws, req), routeOptions);
    }) as RouteDecorator;
  }

  private add(path: string, handler: Handler, options?: SockOptions): void {
    if (this.app === null) this.pending.push([path, handler, options]);
    else this.register(this.app, path, [handler], (h) => this.wsEntry(h, options));
  }

  private register(target: RouterLike, path: unknown, handlers: unknown[], entry: (handler: Handler) => Middleware): unknown {
    const handler = handlers[handlers.length - 1];
    if (typeof handler !== 'function') throw new TypeError('ws(path, ...middleware, handler): the handler must be a function');
    const middleware = handlers.slice(0, -1) as Middleware[];
    return target.get(path, upgradesOnly, ...middleware, entry(handler as Handler));
  }

  /** The route's last middleware: the handshake, the handler, the close. */
  private wsEntry(handler: Handler, routeOptions?: SockOptions): Middleware {
    return (req, res, next) => {
      const { socket, head } = takeUpgrade(req, res);
      const { onError, ...serverOptions } = { ...this.options, ...routeOptions };
      void this.run(handler, req, socket, head, serverOptions, onError, next);
    };
  }

  private async run(
    handler: Handler,
    req: SockRequest,
    socket: import('node:stream').Duplex,
    head: Buffer,
    options: ServerOptions,
    onError: SockOptions['onError'],
    next: Next,
  ): Promise<void> {
    let ws: Server;
    try {
      ws = await Server.accept(req, socket, head, options);
    } catch (error) {
      // The handshake failed; Server.accept already answered and closed.
      if (tracing) step(socket, `the handshake failed, no handler: ${error instanceof Error ? error.message : String(error)}`);
      // Options it refused are the application's mistake, not the peer's: report them.
      if (error instanceof ConnectionError && error.code === 'WS_INVALID_OPTIONS') report(error, req, onError, next);
      return;
    }
    try {
      if (tracing) step(socket, `handler(ws, req) for ${req.url ?? '/'}`);
      await handler(ws, req);
      if (tracing) step(socket, 'handler returned: close 1000');
      await closeQuietly(ws, 1000);
    } catch (err) {
      if (tracing) step(socket, err instanceof ConnectionClosed ? `handler threw ConnectionClosed ${err.code}: the connection is closed` : 'handler threw an error: close 1011');
      await closeQuietly(ws, err instanceof ConnectionClosed ? 1000 : 1011);
      // A peer that went away is not the application's error.
      if (err instanceof ConnectionClosed) return;
      report(err, req, onError, next);
    }
  }
}

/** A step of `Sock.run` in the trace. */
function step(socket: object, detail: string): void {
  traceFor(socket, 'server', 'express-sock', 'Sock.run', detail);
}

/** Hands an application error to `onError`, else to Express (`next(err)`). */
function report(err: unknown, req: SockRequest, onError: SockOptions['onError'], next: Next): void {
  try {
    if (onError) onError(err, req);
    else next(err);
  } catch {
    // Error reporting must never take the process down.
  }
}

/**
 * Closes with an RFC 6455 code (1011 is not one the WHATWG-style `close()`
 * accepts); a connection already closed or failing is not an error here.
 */
async function closeQuietly(ws: Server, code: number): Promise<void> {
  try {
    await ws.closeWithStatus(code);
  } catch {
    // Already closed, or the peer vanished: nothing left to tell it.
  }
}

/** `sock.route(path)`'s result: a registrar, also a TypeScript method decorator. */
export type RouteDecorator = (<T extends Handler>(method: T, context?: ClassMethodDecoratorContext) => void) & {
  (method: Handler): void;
};

/** The prototype Express's routers share, so `router.ws` works on every router. */
function routerPrototype(app: AppLike): object | null {
  if (typeof app.lazyrouter === 'function') {
    // Express 4: the router is made on demand.
    app.lazyrouter();
    return app._router ? (Object.getPrototypeOf(app._router) as object) : null;
  }
  // Express 5 (the router package): a router is a function whose prototype is
  // its own Router instance; the methods every router shares are one level up.
  if (!app.router) return null;
  const own = Object.getPrototypeOf(app.router) as object;
  return Object.getPrototypeOf(own) as object;
}

function patchRouter(proto: object | null, register: (router: RouterLike, path: unknown, handlers: unknown[]) => unknown): void {
  if (proto === null) return;
  const patched = proto as { ws?: unknown; [kPatched]?: typeof register };
  // One register per prototype: the last bound Sock wins, as with app.listen.
  patched[kPatched] = register;
  patched.ws = function ws(this: RouterLike, path: unknown, ...handlers: unknown[]) {
    return patched[kPatched]!(this, path, handlers);
  };
}
