// A resumable, checksum-verified download of one model file. Bytes go to `<dest>.partial`, which a
// later call continues with an HTTP Range request; `dest` itself only ever appears, by rename, once
// the whole file is there and verified, so a file at `dest` is always a complete, checked model.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, openSync, readSync, closeSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { RerankAbortError, RerankError } from '../lib/errors.js';

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Hex SHA-256 the file must have; null skips the check (onWarning says so). */
  sha256: string | null;
  /** Called as bytes arrive; `total` is undefined when the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** Interrupted transfers resumed within this call before giving up (default 3). */
  retries?: number;
}

/** A transfer that stopped early: what is on disk is kept for the next attempt. */
class Interrupted extends Error {}

const partialPath = (dest: string) => `${dest}.partial`;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// "bytes 100-199/1000" → { start: 100, total: 1000 }; "bytes */1000" (an unsatisfiable range) → { total: 1000 }.
function parseContentRange(header: string | null): { start?: number; total?: number } {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return {};
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

async function transfer(opts: DownloadOptions, partial: string): Promise<void> {
  const have = sizeOf(partial);
  let res: Response;
  try {
    res = await fetch(opts.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw new RerankAbortError(opts.signal.reason);
    throw new Interrupted(`could not reach ${opts.url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  if (res.status === 416 && have > 0) {
    // Asked from past the end: the partial file is either already whole or stale.
    await res.body?.cancel();
    if (parseContentRange(res.headers.get('content-range')).total === have) return;
    rmSync(partial, { force: true });
    throw new Interrupted('the partial file did not match the server\'s; starting over');
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new RerankError(res.status === 404 ? 'MODEL_NOT_FOUND' : 'DOWNLOAD_FAILED', `download failed: HTTP ${res.status} for ${opts.url}`);
  }
  const range = res.status === 206 ? parseContentRange(res.headers.get('content-range')) : {};
  if (res.status === 206 && range.start !== have) {
    await res.body.cancel();
    throw new RerankError('DOWNLOAD_FAILED', `download failed: asked for bytes from ${have}, got ${res.headers.get('content-range')}`);
  }
  // A 200 to a Range request means the server sends the whole file again: start over.
  const start = res.status === 206 ? have : 0;
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = res.status === 206 ? range.total : Number.isFinite(length) ? length : undefined;
  let received = start;
  opts.onProgress?.(received, total);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      opts.onProgress?.(received, total);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as ReadableStream), count, createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' }));
  } catch (err) {
    if (opts.signal?.aborted) throw new RerankAbortError(opts.signal.reason);
    throw new Interrupted(`the transfer stopped at ${received} bytes: ${(err as Error).message}`);
  }
  if (total !== undefined && received !== total) throw new Interrupted(`the transfer stopped at ${received} of ${total} bytes`);
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function startsWithGgufMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'GGUF';
  } finally {
    closeSync(fd);
  }
}

/** Deletes the partial file and fails: what was downloaded must never be taken for the model. */
async function verify(partial: string, opts: DownloadOptions): Promise<void> {
  const reject = (why: string) => {
    rmSync(partial, { force: true });
    return new RerankError('DOWNLOAD_FAILED', `download of ${opts.url} failed verification: ${why}; the file was deleted`);
  };
  if (!startsWithGgufMagic(partial)) throw reject('it is not a GGUF file');
  if (opts.sha256 === null) {
    opts.onWarning?.(`no SHA-256 is known for ${opts.url}: the download was not verified`);
    return;
  }
  const actual = await sha256Of(partial);
  if (actual !== opts.sha256.toLowerCase()) throw reject(`SHA-256 ${actual}, expected ${opts.sha256}`);
}

/** Downloads `url` to `dest`, resuming a previous partial transfer; rejects with RerankError. */
export async function downloadModel(opts: DownloadOptions): Promise<void> {
  const partial = partialPath(opts.dest);
  mkdirSync(dirname(opts.dest), { recursive: true });
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await transfer(opts, partial);
      break;
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      if (attempt >= retries) {
        throw new RerankError('DOWNLOAD_FAILED', `download failed: ${err.message}; run it again to resume from ${sizeOf(partial)} bytes`);
      }
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  }
  await verify(partial, opts);
  renameSync(partial, opts.dest);
}
