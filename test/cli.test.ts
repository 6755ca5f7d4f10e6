// The `llama-rerank` command, run as a user runs it: node on the compiled dist/lib/cli/main.js
// (`npm test` compiles first), with documents on stdin and in files, and `serve` until SIGTERM.
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ServerResponse, createServer as createHttpServer } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import type { RerankResponse } from '../lib/types.js';
import { cpuFeatures } from '../lib/cli/doctor.js';
import { loadOptions } from '../lib/cli/args.js';
import { readDocuments } from '../lib/cli/documents.js';
import { packageRoot } from '../models/paths.js';
import { findKnownModel } from '../models/registry.js';
import { hostedExample, tinyModel } from './helpers.js';
import { ModelServer, startModelServer } from './model-server.js';

const MAIN = join(packageRoot, 'dist', 'lib', 'cli', 'main.js');
const model = tinyModel('rank');
const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], { input = '', env = {} }: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const docs = ['Paris is the capital of France.', 'Berlin is the capital of Germany.', 'The sky is blue.'];

describe('llama-rerank rank', () => {
  let library: Reranker;
  beforeAll(async () => {
    library = await Reranker.load({ model });
  });
  afterAll(() => library.dispose());

  it('ranks documents from stdin, one per line, as a table', async () => {
    const res = await run(['rank', '--model', model, '--query', 'capital of France'], { input: `${docs.join('\n')}\n\n` });
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^rank\s+score\s+index\s+document$/);
    expect(lines).toHaveLength(4);
    const expected = await library.rerank({ query: 'capital of France', documents: docs });
    expected.results.forEach((r, i) => {
      expect(lines[i + 1]).toContain(r.relevance_score.toFixed(4));
      expect(lines[i + 1]).toContain(docs[r.index]);
    });
  });

  it('--json prints the API response; JSONL files with a text field, in order', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.txt');
    writeFileSync(a, docs.slice(0, 2).map((text, id) => JSON.stringify({ id, text })).join('\n'));
    writeFileSync(b, `${docs[2]}\n`);
    const res = await run(['rank', '-m', model, '-q', 'capital', '--json', '-n', '2', a, b]);
    expect(res.code).toBe(0);
    const expected = await library.rerank({ query: 'capital', documents: docs, top_n: 2, return_documents: true });
    expect(JSON.parse(res.stdout)).toEqual(expected);
  });

  // The command's --json answer with `flags`, against the library's with its defaults: the same ranking.
  async function expectRankedAsLibrary(flags: string[]): Promise<void> {
    const res = await run(['rank', '-m', model, '-q', 'capital of France', ...flags, '--json'], { input: `${docs.join('\n')}\n` });
    expect(res.code, res.stderr).toBe(0);
    const expected = await library.rerank({ query: 'capital of France', documents: docs });
    const got = JSON.parse(res.stdout) as RerankResponse;
    expect(got.results.map((r) => r.index)).toEqual(expected.results.map((r) => r.index));
    got.results.forEach((r, i) => expect(Math.abs(r.relevance_score - expected.results[i].relevance_score)).toBeLessThan(1e-3));
  }

  it('--kv-streams N decodes with a KV stream per pair, to the same ranking', async () => {
    await expectRankedAsLibrary(['--kv-streams', '4']);
  });

  it('--contexts N decodes on N contexts, to the same ranking; a bad N is a usage error', async () => {
    await expectRankedAsLibrary(['--contexts', '2']);
    const bad = await run(['rank', '-m', model, '-q', 'q', '--contexts', '9'], { input: 'a\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--contexts/);
  });

  it('--tokenize-first turns tokenizing ahead off (on by default with every layer on a GPU only)', () => {
    expect(loadOptions({ 'tokenize-first': true })).toMatchObject({ tokenizeAhead: false });
    expect(loadOptions({})).not.toHaveProperty('tokenizeAhead');
  });

  // npx in a checkout runs dist/lib/cli/main.js itself: tsc writes it without the bit (scripts/build-ts.mjs)
  it.skipIf(process.platform === 'win32')('the compiled entry is executable, as npx runs it', () => {
    expect(statSync(MAIN).mode & 0o111).toBe(0o111);
  });

  it('exit code 2 and the usage for a mistake on the command line', async () => {
    const noQuery = await run(['rank', '--model', model], { input: 'a\n' });
    expect(noQuery.code).toBe(2);
    expect(noQuery.stderr).toContain('--query is required');
    expect(noQuery.stderr).toContain('Usage: llama-rerank rank');
    const badLine = join(dir, 'bad.jsonl');
    writeFileSync(badLine, '{"text": "a"}\nnot json\n');
    const bad = await run(['rank', '-m', model, '-q', 'q', badLine]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${badLine}:2`);
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('-h/--help as a flag prints the usage (exit 0); as a value it is a value', async () => {
    for (const args of [['rank', '--help'], ['rank', '-m', model, '-h'], ['serve', '--help', '--bogus']]) {
      const res = await run(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toContain(`Usage: llama-rerank ${args[0]}`);
    }
    // A query that reads "--help" is ranked, not taken for the flag.
    const asValue = await run(['rank', '-m', model, '--query=--help'], { input: 'a\nb\n' });
    expect(asValue.code).toBe(0);
    expect(asValue.stdout).not.toContain('Usage:');
    const ambiguous = await run(['rank', '-m', model, '-q', '--help'], { input: 'a\n' });
    expect(ambiguous.code).toBe(2);
  });

  it('exit code 1 with the error code when the model cannot be had', async () => {
    const res = await run(['rank', '-m', join(dir, 'missing.gguf'), '-q', 'q'], { input: 'a\n' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('MODEL_NOT_FOUND');
  });

  it('--max-length too short for the prompt and query: a clear error naming the query, not equal scores', async () => {
    const res = await run(['rank', '-m', model, '-q', 'capital of France', '--max-length', '64'], { input: `${docs.join('\n')}\n` });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/QUERY_TOO_LONG: query: .*no room for a document/);
    expect(res.stdout).toBe('');
  });
});

describe('llama-rerank pull, and model names in the command line', () => {
  let server: ModelServer;
  const known = findKnownModel('qwen/qwen3-reranker-0.6b')!;
  beforeAll(async () => {
    server = await startModelServer({ [`/${known.repo}/resolve/main/${known.file}`]: Buffer.from('GGUF but not the real model') });
  });
  afterAll(() => server.close());

  it('refuses a download whose checksum is not the known one, and keeps nothing', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    const res = await run(['pull', 'qwen3-reranker-0.6b'], { env: { LLAMA_RERANK_CACHE: cache, LLAMA_RERANK_MODEL_BASE_URL: server.baseUrl } });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('DOWNLOAD_FAILED');
    expect(server.requests).toHaveLength(1);
    expect(readdirSync(cache)).toEqual([]);
    const list = await run(['pull'], { env: { LLAMA_RERANK_CACHE: cache } });
    expect(list.stdout).toMatch(/qwen\/qwen3-reranker-0\.6b\s+0\.64 GB/);
  });

  it('a cached model is found by name without a download, by pull and by rank', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    copyFileSync(model, join(cache, known.file));
    const env = { LLAMA_RERANK_CACHE: cache, LLAMA_RERANK_MODEL_BASE_URL: server.baseUrl };
    const pulled = await run(['pull', 'qwen/qwen3-reranker-0.6b'], { env });
    expect(pulled.code).toBe(0);
    expect(pulled.stdout.trim()).toBe(join(cache, known.file));
    const ranked = await run(['rank', '-m', 'qwen/qwen3-reranker-0.6b', '-q', 'q', '--json'], { env, input: 'a\nb\n' });
    expect(ranked.code).toBe(0);
    expect(JSON.parse(ranked.stdout).results).toHaveLength(2);
    expect(server.requests).toHaveLength(1); // only the refused download of the test above
  });

  it('pull --weights bf16 makes the copy --weights loads, ahead of use', async () => {
    const cache = mkdtempSync(join(dir, 'cache-'));
    copyFileSync(model, join(cache, known.file));
    const env = { LLAMA_RERANK_CACHE: cache, LLAMA_RERANK_MODEL_BASE_URL: server.baseUrl };
    const pulled = await run(['pull', 'qwen/qwen3-reranker-0.6b', '--weights', 'bf16'], { env });
    expect(pulled.code, pulled.stderr).toBe(0);
    const copy = pulled.stdout.trim();
    expect(copy.startsWith(join(cache, 'converted', ''))).toBe(true);
    expect(copy).toMatch(/-BF16\.gguf$/);
    const made = statSync(copy).mtimeMs;
    const ranked = await run(['rank', '-m', 'qwen/qwen3-reranker-0.6b', '--weights', 'bf16', '-q', 'q', '--json'], { env, input: 'a\nb\n' });
    expect(ranked.code, ranked.stderr).toBe(0);
    expect(JSON.parse(ranked.stdout).results).toHaveLength(2);
    expect(readdirSync(join(cache, 'converted'))).toEqual([basename(copy)]);
    expect(statSync(copy).mtimeMs).toBe(made); // found, not made again
    for (const mistake of [['pull', 'qwen3-reranker-0.6b', '--weights', 'q4'], ['pull', '--weights', 'bf16'], ['pull', 'qwen/qwen3-reranker-0.6b', '--weights', 'auto']]) {
      const res = await run(mistake, { env });
      expect(res.code, mistake.join(' ')).toBe(2);
      expect(res.stderr).toContain('--weights');
    }
  });
});

describe('llama-rerank serve', () => {
  /** `serve` on the tiny model, once it is ready. */
  async function startServe(env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [MAIN, 'serve', '--model', model, '--port', '0'], { env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', () => {
        const m = /ready \((http:\/\/[^)]+)\)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.on('close', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    return { child, exited, url, stderr: () => stderr };
  }

  it('serves the hosted example with the API key from the environment, and stops cleanly on SIGTERM', async () => {
    const { child, exited, url, stderr } = await startServe({ LLAMA_RERANK_API_KEY: 'k3y' });
    const body = JSON.stringify(hostedExample.request);
    const call = (key?: string) =>
      fetch(`${url}/v1/rerank`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    expect((await call()).status).toBe(401);
    const ok = await call('k3y');
    expect(ok.status).toBe(200);
    expect((await ok.json()).results).toHaveLength(5);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr()).toContain('stopped');
  });

  it('fetch() reads the 413 of a body over the limit and the 400 of a body that is not its encoding', async () => {
    // The server used to close the connection while the client was still sending the body, and
    // fetch() failed with EPIPE instead of reading the answer. Another process than the client's:
    // within one, the client reads before the reset comes.
    const { child, exited, url } = await startServe();
    try {
      const big = JSON.stringify({ query: 'q', documents: ['x'.repeat(9 << 20)] }); // over the 8 MiB default
      const notGzip = JSON.stringify({ query: 'q', documents: ['x'.repeat(4 << 20)] });
      for (let i = 0; i < 3; i++) {
        const tooLarge = await fetch(`${url}/v1/rerank`, { method: 'POST', body: big });
        expect(tooLarge.status).toBe(413);
        expect((await tooLarge.json()).error.code).toBe('BODY_TOO_LARGE');
        const bad = await fetch(`${url}/v1/rerank`, { method: 'POST', body: notGzip, headers: { 'content-encoding': 'gzip' } });
        expect(bad.status).toBe(400);
        expect((await bad.json()).error.message).toMatch(/not valid gzip/);
      }
      const ok = await fetch(`${url}/v1/rerank`, { method: 'POST', body: JSON.stringify({ query: 'q', documents: ['a'] }) });
      expect(ok.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('llama-rerank doctor', () => {
  it('reports the addon, the backend in use with its reason, and the devices', async () => {
    const r = await run(['doctor', '--json'], { env: { LLAMA_RERANK_BACKEND_PATH: '', LLAMA_RERANK_GPU: 'auto' } });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.selected).toBe('cpu');
    expect(report.why).toMatch(/no GPU backend/);
    expect(report.addon).toMatch(/llama_rerank/);
    expect(report.devices.some((d: { type: string }) => d.type === 'cpu')).toBe(true);
    const text = await run(['doctor'], { env: { LLAMA_RERANK_BACKEND_PATH: '' } });
    expect(text.stdout).toMatch(/^backend: +cpu/m);
  });

  it("lists the CPU features llama.cpp's CPU backend uses, and says when BF16 weights may pay", async () => {
    const r = await run(['doctor', '--json'], { env: { LLAMA_RERANK_BACKEND_PATH: '' } });
    const report = JSON.parse(r.stdout) as { addon: string; cpuFeatures: string[] };
    const features = report.cpuFeatures;
    expect(features.length).toBeGreaterThan(0);
    // A source build on x86 Linux is built for the features /proc/cpuinfo names (scripts/build-native.mjs)
    if (process.arch === 'x64' && process.platform === 'linux' && report.addon.includes(join('build', 'Release'))) {
      const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
      expect(features.includes('AVX2')).toBe(flags.includes('avx2'));
      expect(features.includes('AVX512_BF16')).toBe(flags.includes('avx512_bf16'));
    }
    const text = (await run(['doctor'], { env: { LLAMA_RERANK_BACKEND_PATH: '' } })).stdout;
    expect(text).toContain(`cpu:       ${features.join(' ')}\n`);
    expect(text.includes('--weights bf16')).toBe(features.includes('AVX512_BF16') || features.includes('AMX_BF16'));
  });

  it("reads the CPU's features from llama.cpp's system info line, not another backend's", () => {
    const info = 'CPU : SSE3 = 1 | AVX512 = 0 | AVX512_BF16 = 1 | REPACK = 1 | CUDA : ARCHS = 900 | USE_GRAPHS = 1 | ';
    expect(cpuFeatures(info)).toEqual(['SSE3', 'AVX512_BF16', 'REPACK']);
    expect(cpuFeatures('')).toEqual([]);
  });
});

describe('command-line mistakes and failures', () => {
  const input = 'a\nb\n';

  it('exit code 2 for a flag value the library would refuse', async () => {
    const cases = [
      ['--gpu', 'banana'],
      ['--threads', '5000'],
      ['--max-length', '10'],
      ['--weights', 'q4'],
      ['--kv-streams', '300'],
      ['--kv-streams', 'two'],
      ['--query', '   '],
      ['--instruction', ''],
      ['--top-n', '0x2'],
      ['--top-n', ' 2 '],
      ['--top-n', '1e0'],
    ];
    for (const [flag, value] of cases) {
      const res = await run(['rank', '-m', model, '-q', 'q', flag, value], { input });
      expect(res.code, `${flag} ${JSON.stringify(value)}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toContain(flag);
    }
  });

  it('doctor refuses a stray word (exit 2)', async () => {
    const doctor = await run(['doctor', 'extra']);
    expect(doctor.code).toBe(2);
    expect(doctor.stderr).toContain('"extra"');
  });

  it('a data-file error is one line, without the whole usage', async () => {
    const bad = join(dir, 'bad-line.jsonl');
    writeFileSync(bad, '{"text": "a"}\nnot json\n');
    const res = await run(['rank', '-m', model, '-q', 'q', bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${bad}:2`);
    expect(res.stderr).not.toContain('Usage:');
    const missing = await run(['rank', '-m', model, '-q', 'q', join(dir, 'no-such-file.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toContain('Usage:');
  });

  it('reads a JSONL file that starts with a UTF-8 byte order mark as JSONL', async () => {
    const file = join(dir, 'bom.jsonl');
    writeFileSync(file, `\uFEFF${JSON.stringify({ text: 'alpha' })}\n${JSON.stringify({ text: 'beta' })}\n`);
    const res = await run(['rank', '-m', model, '-q', 'q', '--json', file]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).results.map((r: { document: { text: string } }) => r.document.text).sort()).toEqual(['alpha', 'beta']);
  });

  it('reads a document file of 300,000 lines (more than a spread of arguments takes)', async () => {
    const file = join(dir, 'many.txt');
    writeFileSync(file, Array.from({ length: 300_000 }, (_, i) => `document ${i}`).join('\n'));
    const docs = await readDocuments([file], process.stdin);
    expect(docs).toHaveLength(300_000);
    expect(docs[299_999]).toBe('document 299999');
  });

  it('exit code 1 when stdout cannot be written (a full disk)', async () => {
    const res = await new Promise<Run>((resolve, reject) => {
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, [MAIN, 'rank', '-m', model, '-q', 'q'], { stdio: ['pipe', full, 'pipe'] });
      closeSync(full);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
      child.stdin!.end(input);
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot write to stdout');
  });

  it('the table shows control characters and terminal escapes as text, never raw', async () => {
    const docs = ['red \u001b[31malert\u001b[0m', 'bell \u0007 and C1 \u009b2J', 'bidi \u202eevil'];
    const res = await run(['rank', '-m', model, '-q', 'q', '-'], { input: docs.map((text) => JSON.stringify({ text })).join('\n') });
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(res.stdout).toContain('red \\x1b[31malert\\x1b[0m');
    expect(res.stdout).toContain('bell \\x07 and C1 \\x9b2J');
    expect(res.stdout).toContain('bidi \\u202eevil');
  });
});

describe('llama-rerank serve: starting and stopping', () => {
  // A serve that does not exit by itself (the defect under test) must not outlive its test.
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** `serve` with these arguments; resolves `until` when its stderr matches. */
  function serve(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args], { env: { ...process.env, ...env } });
    children.push(child);
    let stderr = '';
    const waiters: [RegExp, () => void][] = [];
    child.stderr.on('data', (d) => {
      stderr += d;
      for (const [re, wake] of waiters) if (re.test(stderr)) wake();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    return {
      child,
      exited,
      stderr: () => stderr,
      until: (re: RegExp) => new Promise<void>((resolve) => (re.test(stderr) ? resolve() : waiters.push([re, resolve]))),
    };
  }

  it('refuses an API key with whitespace at start (exit 2), before listening', async () => {
    const s = serve(['-m', model, '--port', '0'], { LLAMA_RERANK_API_KEY: 'my key' });
    expect(await s.exited).toBe(2);
    expect(s.stderr()).toContain('LLAMA_RERANK_API_KEY');
    expect(s.stderr()).not.toContain('listening');
  });

  it('--gpu banana or a stray word fails before listening (exit 2)', async () => {
    for (const mistake of [['--gpu', 'banana'], ['extra']]) {
      const s = serve(['-m', model, '--port', '0', ...mistake]);
      expect(await s.exited).toBe(2);
      expect(s.stderr()).not.toContain('listening');
    }
  });

  it('a port in use or an address not on this machine: one clear line, exit code 1', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = String((taken.address() as AddressInfo).port);
    try {
      const inUse = serve(['-m', model, '--port', port]);
      expect(await inUse.exited).toBe(1);
      expect(inUse.stderr().trim().split('\n')).toEqual([`llama-rerank: cannot listen on 127.0.0.1:${port}: the address is already in use (another server? --port picks another)`]);
    } finally {
      taken.close();
    }
    // TEST-NET-1 (RFC 5737): never an address of this machine.
    const elsewhere = serve(['-m', model, '--host', '192.0.2.1', '--port', '0']);
    expect(await elsewhere.exited).toBe(1);
    expect(elsewhere.stderr().trim().split('\n')).toHaveLength(1);
    expect(elsewhere.stderr()).toContain('cannot listen on 192.0.2.1:0');
  });

  it('a second SIGTERM while requests drain ends the process at once, with the code a shell gives SIGTERM (143)', async () => {
    const s = serve(['-m', model, '--port', '0']);
    await s.until(/ready \(/);
    const url = /ready \((http:\/\/[^)]+)\)/.exec(s.stderr())![1];
    // Some seconds of work on the tiny model, so the first SIGTERM has a request to wait for.
    const body = JSON.stringify({ query: 'q', documents: Array.from({ length: 1000 }, (_, i) => `${i} ${'lorem ipsum '.repeat(60)}`) });
    const pending = fetch(`${url}/v1/rerank`, { method: 'POST', body }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    await s.until(/finishing the requests in flight/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(143);
    await pending;
  });

  it('SIGTERM while the model is still being fetched: a clean stop, exit code 0', async () => {
    // A model source that holds every request until released: the load is in progress meanwhile.
    const held: ServerResponse[] = [];
    const source = createHttpServer((_req, res) => void held.push(res));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    const cache = mkdtempSync(join(dir, 'cache-'));
    const s = serve(['-m', 'qwen/qwen3-reranker-0.6b', '--port', '0'], {
      LLAMA_RERANK_CACHE: cache,
      LLAMA_RERANK_MODEL_BASE_URL: `http://127.0.0.1:${(source.address() as AddressInfo).port}`,
    });
    try {
      await s.until(/listening/);
      for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(held).toHaveLength(1);
      s.child.kill('SIGTERM');
      await s.until(/stopped/);
      for (const res of held) res.writeHead(404).end('Entry not found');
      expect(await s.exited).toBe(0);
      expect(s.stderr()).not.toMatch(/TypeError|DOWNLOAD_FAILED/);
    } finally {
      source.closeAllConnections();
      source.close();
    }
  });
});
