// Model download and resolution against a local HTTP server serving the generated tiny GGUF:
// complete transfer, interruption and resume (Range), a server that ignores Range, wrong checksum,
// 404, and known names resolving through the cache in resolveModel() and rerank().
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rerank, unloadAll } from '../lib/index.js';
import { modelCacheDir, resolveModel } from '../lib/model-resolve.js';
import { downloadModel } from '../models/download.js';
import { KnownModel, findKnownModel, registerModel } from '../models/registry.js';
import { exampleRequest, tinyModel } from './helpers.js';
import { ModelServer, startModelServer } from './model-server.js';

const tiny = readFileSync(tinyModel('rank'));
const tinySha = createHash('sha256').update(tiny).digest('hex');
const FILE_URL = '/test/tiny/resolve/main/tiny.gguf';
/** The real 0.6B's repository path, serving the tiny file: its known checksum must refuse it. */
const real06b = findKnownModel('qwen/qwen3-reranker-0.6b')!;
const REAL_06B_URL = `/${real06b.repo}/resolve/main/${real06b.file}`;

const TEST_MODEL: KnownModel = {
  name: 'test/tiny-reranker',
  aliases: ['tiny-reranker'],
  file: 'tiny.gguf',
  repo: 'test/tiny',
  sha256: tinySha,
  approxBytes: tiny.length,
  source: 'the generated tiny test model',
};

let server: ModelServer;
let dir: string;
const quiet = { onProgress: () => {}, onWarning: () => {} };

beforeAll(async () => {
  server = await startModelServer({
    [FILE_URL]: tiny,
    [REAL_06B_URL]: tiny,
    '/html/resolve/main/page.gguf': Buffer.from('<html>Sign in to continue</html>'),
  });
  registerModel(TEST_MODEL);
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
  server.ignoreRange = false;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'llama-rerank-dl-'));
  return dir;
}

const sameAsTiny = (path: string) => expect(readFileSync(path).equals(tiny)).toBe(true);

describe('downloadModel', () => {
  it('downloads, reports progress up to the total and verifies the SHA-256', async () => {
    const dest = join(freshDir(), 'm.gguf');
    const seen: [number, number | undefined][] = [];
    await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: tinySha, onProgress: (r, t) => seen.push([r, t]) });
    sameAsTiny(dest);
    expect(existsSync(`${dest}.partial`)).toBe(false);
    expect(seen.at(-1)).toEqual([tiny.length, tiny.length]);
  });

  it('an interrupted transfer keeps its bytes and the next call resumes with a Range request', async () => {
    const dest = join(freshDir(), 'm.gguf');
    const url = server.baseUrl + FILE_URL;
    server.cutNextAfter(10_000_000);
    const err = await downloadModel({ url, dest, sha256: tinySha, retries: 0 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringContaining('resume') });
    expect(existsSync(dest)).toBe(false);
    const kept = statSync(`${dest}.partial`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(tiny.length);

    await downloadModel({ url, dest, sha256: tinySha });
    expect(server.requests.at(-1)).toEqual({ url: FILE_URL, range: `bytes=${kept}-` });
    sameAsTiny(dest);
  });

  it('resumes by itself within one call when the connection drops', async () => {
    const dest = join(freshDir(), 'm.gguf');
    server.cutNextAfter(5_000_000);
    await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: tinySha });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].range).toMatch(/^bytes=\d+-$/);
    sameAsTiny(dest);
  });

  it('starts over when the server answers a Range request with the whole file', async () => {
    const dest = join(freshDir(), 'm.gguf');
    server.cutNextAfter(3_000_000);
    await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: tinySha, retries: 0 }).catch(() => {});
    server.ignoreRange = true;
    await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: tinySha });
    sameAsTiny(dest);
  });

  it('a wrong checksum fails and leaves no file that could pass for the model', async () => {
    const dest = join(freshDir(), 'm.gguf');
    const err = await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: 'ab'.repeat(32) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringContaining('SHA-256') });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('404 is MODEL_NOT_FOUND and writes nothing', async () => {
    const dest = join(freshDir(), 'm.gguf');
    const err = await downloadModel({ url: `${server.baseUrl}/nope/resolve/main/x.gguf`, dest, sha256: null }).catch((e) => e);
    expect(err).toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('404') });
    expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
  });

  it('without a known checksum: warns, and still refuses what is not a GGUF file', async () => {
    const dest = join(freshDir(), 'm.gguf');
    const warnings: string[] = [];
    await downloadModel({ url: server.baseUrl + FILE_URL, dest, sha256: null, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.stringContaining('not verified')]);
    sameAsTiny(dest);
    const page = join(dir, 'page.gguf');
    const err = await downloadModel({ url: `${server.baseUrl}/html/resolve/main/page.gguf`, dest: page, sha256: null }).catch((e) => e);
    expect(err).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringContaining('not a GGUF') });
    expect(existsSync(page)).toBe(false);
  });
});

describe('resolveModel', () => {
  it('downloads a known model into the cache once; concurrent first uses share the transfer', async () => {
    const cacheDir = freshDir();
    const opts = { ...quiet, cacheDir, baseUrl: server.baseUrl };
    const [a, b] = await Promise.all([resolveModel('test/tiny-reranker', opts), resolveModel('Tiny-Reranker', opts)]);
    expect(a).toBe(join(cacheDir, 'tiny.gguf'));
    expect(b).toBe(a);
    sameAsTiny(a);
    expect(server.requests).toHaveLength(1);
    expect(await resolveModel('test/tiny-reranker', opts)).toBe(a);
    expect(server.requests).toHaveLength(1);
  });

  it("enforces the registry's checksum for the real models", async () => {
    const cacheDir = freshDir();
    const err = await resolveModel('qwen/qwen3-reranker-0.6b', { ...quiet, cacheDir, baseUrl: server.baseUrl }).catch((e) => e);
    expect(err).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringContaining(real06b.sha256!) });
    expect(existsSync(join(cacheDir, real06b.file))).toBe(false);
    expect(server.requests[0].url).toBe(REAL_06B_URL);
  });

  it('a path is used as it is; an unknown name, a model without a download or download: false are MODEL_NOT_FOUND', async () => {
    const cacheDir = freshDir();
    expect(await resolveModel(tinyModel('rank'), { cacheDir })).toBe(tinyModel('rank'));
    await expect(resolveModel('no/such-model', { cacheDir })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('qwen/qwen3-reranker-0.6b') });
    await expect(resolveModel('qwen/qwen3-reranker-8b', { cacheDir })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('convert') });
    await expect(resolveModel('test/tiny-reranker', { cacheDir, download: false })).rejects.toMatchObject({ message: expect.stringContaining('pull') });
    expect(server.requests).toHaveLength(0);
  });

  it('the cache folder: $LLAMA_RERANK_CACHE, else $XDG_CACHE_HOME/llama-rerank, else ~/.cache/llama-rerank', () => {
    expect(modelCacheDir({ LLAMA_RERANK_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(modelCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'llama-rerank'));
    expect(modelCacheDir({})).toMatch(/\.cache[/\\]llama-rerank$/);
  });
});

describe('rerank() with a model name', () => {
  const saved = { ...process.env };
  afterAll(async () => {
    process.env = saved;
    await unloadAll();
  });

  it('a bad or already aborted request downloads and loads nothing', async () => {
    const cache = freshDir();
    process.env.LLAMA_RERANK_CACHE = cache;
    process.env.LLAMA_RERANK_MODEL_BASE_URL = server.baseUrl;
    const before = server.requests.length;
    await expect(rerank({ model: 'test/tiny-reranker', query: '', documents: ['a'] })).rejects.toMatchObject({ code: 'INVALID_REQUEST', field: 'query' });
    const signal = AbortSignal.abort();
    await expect(rerank({ ...exampleRequest(), model: 'test/tiny-reranker', signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(rerank({ ...exampleRequest(), model: 'test/tiny-reranker' }, null as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(server.requests.length).toBe(before);
    expect(existsSync(join(cache, 'tiny-reranker.gguf')) || readdirSync(cache).length > 0).toBe(false);
  });

  it('downloads on first use (base URL and cache from the environment), then answers as with the path', async () => {
    process.env.LLAMA_RERANK_CACHE = freshDir();
    process.env.LLAMA_RERANK_MODEL_BASE_URL = server.baseUrl;
    const byName = await rerank({ ...exampleRequest(), model: 'test/tiny-reranker' }, { flashAttention: 'off' });
    const byPath = await rerank({ ...exampleRequest(), model: tinyModel('rank') }, { flashAttention: 'off' });
    expect(byName).toEqual(byPath);
    expect(server.requests).toEqual([{ url: FILE_URL, range: undefined }]);
  });
});
