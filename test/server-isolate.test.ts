// The server over an isolated model: a dead model process costs the requests it held (a JSON 503
// BACKEND_CRASHED), /health says "restarting" while a new one loads, and then it serves again.
// `llama-rerank serve` isolates by default: its model process is killed here as a GPU fault would.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { buildServer } from '../lib/server/app.js';
import { packageRoot } from '../models/paths.js';
import { exampleRequest, hostedExample, tinyModel } from './helpers.js';
import { childrenOf, untilBusy } from './processes.js';

const model = tinyModel('rank');
const manyDocuments = () => ({ query: 'rivers', documents: Array.from({ length: 64 }, (_, i) => `river ${i} `.repeat(200)) });

describe('a server over an isolated model', () => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model, flashAttention: 'off', threads: 2, isolate: true });
  });
  afterAll(() => reranker.dispose());

  it('answers the request in flight with a JSON 503 BACKEND_CRASHED, says "restarting", then serves again', async () => {
    const s = buildServer({ reranker, modelName: 'tiny' });
    await s.loaded;
    const before = await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() });
    expect(before.statusCode).toBe(200);

    const pid = reranker.childPid!;
    const inFlight = s.app.inject({ method: 'POST', url: '/v1/rerank', payload: manyDocuments() });
    await untilBusy(pid);
    process.kill(pid, 'SIGKILL');
    const crashed = await inFlight;
    expect(crashed.statusCode).toBe(503);
    expect(crashed.json()).toMatchObject({ error: { code: 'BACKEND_CRASHED', type: 'service_unavailable_error' } });
    expect(crashed.json().error.message).toContain('SIGKILL');

    // A new model process is loading (it takes far longer than these two calls).
    const health = await s.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'restarting', error: { code: 'BACKEND_RESTARTING' } });
    const refused = await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('BACKEND_RESTARTING');

    while ((await s.app.inject({ method: 'GET', url: '/health' })).statusCode !== 200) await sleep(50);
    const after = await s.app.inject({ method: 'POST', url: '/v1/rerank', payload: exampleRequest() });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(before.json());
    expect(reranker.stats.restarts).toBe(1);
    await s.shutdown();
  });
});

async function serve(args: string[]) {
  // Its own process group, as a shell gives a command: Ctrl-C (SIGINT to the group) reaches every process in it.
  const main = join(packageRoot, 'dist', 'lib', 'cli', 'main.js');
  const proc = spawn(process.execPath, [main, 'serve', '--model', model, '--port', '0', ...args], { detached: true });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr.on('data', () => {
      const m = /ready \((http:\/\/[^)]+)\)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    proc.on('close', () => reject(new Error(`serve exited: ${stderr}`)));
  });
  const rerank = () =>
    fetch(`${url}/v1/rerank`, { method: 'POST', body: JSON.stringify(hostedExample.request), headers: { 'content-type': 'application/json' } });
  return { proc, url, rerank, exited, stderr: () => stderr };
}

describe.skipIf(process.platform !== 'linux')('llama-rerank serve', () => {
  it('runs the model in a child process: killing it fails no later request and the server stays up', async () => {
    const { proc, url, rerank, exited } = await serve([]);
    const first = await rerank();
    expect(first.status).toBe(200);
    const [child] = childrenOf(proc.pid!);
    expect(child).toBeGreaterThan(0);
    process.kill(child, 'SIGSEGV');
    // Until the server has seen the death, started a new model process, and that one has loaded.
    const replaced = () => childrenOf(proc.pid!).some((pid) => pid !== child);
    while (!replaced() || (await fetch(`${url}/health`)).status !== 200) await sleep(50);
    const again = await rerank();
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('Ctrl-C reaches its model process too, and the request in flight still finishes', async () => {
    const { proc, url, exited, stderr } = await serve([]);
    const [child] = childrenOf(proc.pid!);
    const body = JSON.stringify({ query: 'rivers', documents: Array.from({ length: 16 }, (_, i) => `river ${i} `.repeat(100)) });
    const inFlight = fetch(`${url}/v1/rerank`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await untilBusy(child);
    process.kill(-proc.pid!, 'SIGINT');
    expect((await inFlight).status).toBe(200);
    expect(await exited).toBe(0);
    expect(stderr()).toContain('stopped');
  });

  it('--no-isolate runs it in the server process', async () => {
    const { proc, rerank, exited } = await serve(['--no-isolate']);
    expect((await rerank()).status).toBe(200);
    expect(childrenOf(proc.pid!)).toEqual([]);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
