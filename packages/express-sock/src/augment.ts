/**
 * Teaches Express's types about `app.ws` and `router.ws`, which a bound
 * {@link Sock} adds at run time.
 *
 * @module
 */
import type { Server } from '@wsstack/simple-websocket';

/** The handler `app.ws` and `router.ws` take last. */
export type WsRouteHandler = (ws: Server, req: import('express').Request) => void | Promise<void>;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Application {
      /** A WebSocket route: Express middleware first, then `handler` with the open connection. */
      ws(path: string | RegExp | Array<string | RegExp>, ...handlers: [...import('express').RequestHandler[], WsRouteHandler]): this;
    }
  }
}

declare module 'express-serve-static-core' {
  interface Router {
    /** A WebSocket route on this router (see `app.ws`). */
    ws(path: string | RegExp | Array<string | RegExp>, ...handlers: [...RequestHandler[], WsRouteHandler]): this;
  }
}

export {};
