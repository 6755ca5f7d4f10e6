// When has a client left? Node tells a response only about its own socket's close once the response
// is attached to it: a pipelined request's response waits unattached, and hears nothing when the
// socket goes. So every request watches its socket itself, through one listener per socket.
//
// A client's FIN counts as leaving: over TCP a half-close and a hang-up look the same until the
// server writes, and waiting to write would keep computing for clients that are gone (Go's and
// nginx's servers decide the same). The server does still write what it has: the connection stays
// half-open (httpAllowHalfOpen), so a client that only shut its sending side reads every answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Event = 'ended' | 'closed';
const watchers = new WeakMap<Socket, Set<(event: Event) => void>>();

/** Calls `fn` once when the socket ends (FIN) or closes; returns a function that stops watching. */
function watchSocket(socket: Socket, fn: (event: Event) => void): () => void {
  if (socket.destroyed) {
    queueMicrotask(() => fn('closed'));
    return () => {};
  }
  if (socket.readableEnded) queueMicrotask(() => fn('ended'));
  let set = watchers.get(socket);
  if (!set) {
    const watching = new Set<(event: Event) => void>();
    socket.once('end', () => {
      for (const f of [...watching]) f('ended');
    });
    socket.once('close', () => {
      for (const f of [...watching]) f('closed');
      watching.clear();
    });
    watchers.set(socket, watching);
    set = watching;
  }
  const own = set;
  own.add(fn);
  return () => own.delete(fn);
}

/**
 * Aborts when the client leaves before the response is complete: its socket ends or closes, or the
 * response is closed unfinished.
 */
export function clientGoneSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  const gone = () => {
    if (!res.writableFinished) abort.abort(new Error('the client closed its connection before the answer was ready'));
    stop();
  };
  const stop = watchSocket(req.socket, gone);
  res.once('close', gone);
  res.once('finish', stop);
  return abort.signal;
}

/**
 * Calls `fn` once the request no longer needs the server: its response is sent or closed, or its
 * socket is gone (the one event an unattached pipelined response gets).
 */
export function onSettled(req: IncomingMessage, res: ServerResponse, fn: () => void): void {
  let done = false;
  const settle = () => {
    if (done) return;
    done = true;
    stop();
    fn();
  };
  const stop = watchSocket(req.socket, (event) => {
    if (event === 'closed') settle();
  });
  res.once('close', settle);
}
