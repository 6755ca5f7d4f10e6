// The `llama-rerank` command, run as a user runs it: node on the compiled dist/lib/cli/main.js
// (`npm test` compiles first), with documents on stdin and in files, and `serve` until SIGTERM.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
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

  it('exit code 1 with the error code when the model cannot be had', async () => {
    const res = await run(['rank', '-m', join(dir, 'missing.gguf'), '-q', 'q'], { input: 'a\n' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('MODEL_NOT_FOUND');
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
});

describe('llama-rerank serve', () => {
  it('serves the hosted example with the API key from the environment, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--model', model, '--port', '0'], {
      env: { ...process.env, LLAMA_RERANK_API_KEY: 'k3y' },
    });
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
    const body = JSON.stringify(hostedExample.request);
    const call = (key?: string) =>
      fetch(`${url}/v1/rerank`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    expect((await call()).status).toBe(401);
    const ok = await call('k3y');
    expect(ok.status).toBe(200);
    expect((await ok.json()).results).toHaveLength(5);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopped');
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
});
