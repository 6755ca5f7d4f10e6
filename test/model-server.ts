// A stand-in for Hugging Face on 127.0.0.1 (these machines have no internet): serves files at
// /<repo>/resolve/main/<file> with HTTP Range, and can cut a transfer short or ignore Range, to
// test the downloader's resume and checks.
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelServer {
  baseUrl: string;
  /** Every request's path and Range header, in order. */
  requests: { url: string; range?: string }[];
  /** The next full or partial response stops after this many body bytes (then the socket is destroyed). */
  cutNextAfter(bytes: number): void;
  /** Answer Range requests with the whole file (200), as some servers do. */
  ignoreRange: boolean;
  close(): Promise<void>;
}

export async function startModelServer(files: Record<string, Buffer>): Promise<ModelServer> {
  let cutAfter: number | undefined;
  const state = { ignoreRange: false, requests: [] as { url: string; range?: string }[] };
  const server: Server = createServer((req: IncomingMessage, res) => {
    state.requests.push({ url: req.url ?? '', range: req.headers.range });
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !state.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    const rest = body.subarray(start);
    if (cutAfter !== undefined) {
      const n = cutAfter;
      cutAfter = undefined;
      res.write(rest.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    cutNextAfter(bytes) {
      cutAfter = bytes;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v) {
      state.ignoreRange = v;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
