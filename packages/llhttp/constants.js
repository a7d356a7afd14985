// The parts of llhttp's C API (llhttp.h) that a caller of the wasm module
// needs: parser types, the return codes of llhttp_execute, and method names
// by their codes. build.js checks them against the llhttp it ships.
'use strict';

/** llhttp_type_t. */
const TYPE = Object.freeze({ BOTH: 0, REQUEST: 1, RESPONSE: 2 });

/** llhttp_errno_t values a caller branches on. */
const ERROR = Object.freeze({ OK: 0, PAUSED: 21, PAUSED_UPGRADE: 22 });

/** llhttp_method_t: the name of each method code (llhttp_get_method). */
const METHOD_NAMES = Object.freeze([
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE',
  'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR',
  'LINK', 'UNLINK', 'SOURCE', 'PRI', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN',
  'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'FLUSH', 'QUERY',
]);

module.exports = { TYPE, ERROR, METHOD_NAMES };
