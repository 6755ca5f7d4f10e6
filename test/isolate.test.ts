// isolate: true: the model in a child process, the same answers, and a child that dies costs only
// the requests it held. The child is killed from here (SIGKILL, SIGSEGV) as a GPU fault would kill it.
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Reranker, RerankError } from '../lib/index.js';
import { ChildReranker } from '../lib/isolate/child-reranker.js';
import { LineTail } from '../lib/isolate/line-tail.js';
import { loadNative } from '../lib/load-native.js';
import { validateLoadOptions } from '../lib/validate.js';
import type { RerankRequest } from '../lib/types.js';
import { packageRoot } from '../models/paths.js';
import { exampleRequest, scoresByIndex, tinyModel } from './helpers.js';
import { alive, untilBusy, untilGone } from './processes.js';

const model = tinyModel('rank');
const options = { model, flashAttention: 'off', threads: 2 } as const;
const longRequest = (): RerankRequest => ({
  query: 'which of these is about rivers?',
  documents: Array.from({ length: 96 }, (_, i) => `Document ${i}: ${'the river runs past the old mill and on to the sea. '.repeat(30)}`),
});

async function expectCrashed(p: Promise<unknown>, signal: string): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RerankError);
  expect((err as RerankError).code).toBe('BACKEND_CRASHED');
  expect((err as RerankError).message).toContain(signal);
}

describe('isolate: true', () => {
  let inProcess: Reranker;
  let isolated: Reranker;
  let baseline: number[];
  beforeAll(async () => {
    inProcess = await Reranker.load(options);
    isolated = await Reranker.load({ ...options, isolate: true });
    baseline = scoresByIndex(await inProcess.rerank(exampleRequest()));
  });
  afterAll(() => {
    inProcess.dispose();
    isolated.dispose();
  });

  it('answers exactly as in-process: responses, tokens, info', async () => {
    expect(isolated.childPid).toBeGreaterThan(0);
    expect(isolated.childPid).not.toBe(process.pid);
    expect(await isolated.rerank(exampleRequest())).toEqual(await inProcess.rerank(exampleRequest()));
    expect(await isolated.tokenize('<|im_end|> hello')).toEqual(await inProcess.tokenize('<|im_end|> hello'));
    expect(await isolated.truncate('naïve café owners', 2)).toBe(await inProcess.truncate('naïve café owners', 2));
    expect(isolated.info).toEqual(inProcess.info);
    expect(inProcess.stats.restarts).toBe(0);
  });

  it('carries the native Float64Array of scores bit for bit', async () => {
    const valid = validateLoadOptions(options);
    const here = await loadNative(valid);
    const child = new ChildReranker(valid);
    await child.loaded;
    const group = { id: 1, instruction: 'Judge', query: 'q', documents: ['one', 'two', 'three'], maxLength: 8192, truncate: true,
      sharePrefix: true, maxChunks: 1, chunkOverlap: 80, tokenBudget: 0 };
    const [there] = (await child.score([group])).groups;
    const [mine] = (await here.score([group])).groups;
    expect(there.scores).toBeInstanceOf(Float64Array);
    const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(there.scores)).toEqual(bytes(mine.scores));
    expect(await child.tokenize('hello', false)).toEqual(await here.tokenize('hello', false));
    child.dispose();
    here.dispose();
    expect(await child.exited).toBeUndefined(); // an ended child is no crash
  });

  for (const signal of ['SIGKILL', 'SIGSEGV'] as const) {
    it(`${signal} with concurrent requests in flight: each rejects with BACKEND_CRASHED or was answered first, the next succeeds`, async () => {
      const restarts = isolated.stats.restarts;
      const pid = isolated.childPid!;
      const requests = Array.from({ length: 12 }, (_, i) => isolated.rerank(i % 3 ? exampleRequest() : longRequest()));
      process.kill(pid, signal);
      // A signal takes effect when the kernel next runs the child: on a loaded machine (CI runs test
      // files side by side on 2 cores) the child once answered a short request first. None is lost:
      // each is answered in full or rejected as crashed, and the long ones cannot have finished.
      const settled = await Promise.allSettled(requests);
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          expect(i % 3, `request ${i} (a long one) cannot have finished before the kill`).not.toBe(0);
          expect(scoresByIndex(s.value)).toEqual(baseline);
        }
      });
      for (const r of requests) if (!(await r.then(() => true, () => false))) await expectCrashed(r, signal);
      expect(settled.filter((s) => s.status === 'rejected').length).toBeGreaterThan(0);
      await untilGone(pid);
      const after = await isolated.rerank(exampleRequest());
      expect(scoresByIndex(after)).toEqual(baseline);
      expect(isolated.childPid).not.toBe(pid);
      expect(isolated.stats.restarts).toBe(restarts + 1);
    });
  }

  it.skipIf(process.platform !== 'linux')('a kill in the middle of a decode rejects that request; requests after it succeed', async () => {
    await isolated.rerank(exampleRequest()); // the child is loaded and idle
    const pid = isolated.childPid!;
    const running = isolated.rerank(longRequest());
    await untilBusy(pid);
    process.kill(pid, 'SIGSEGV');
    await expectCrashed(running, 'SIGSEGV');
    const next = await Promise.all([isolated.rerank(exampleRequest()), isolated.rerank(exampleRequest())]);
    for (const r of next) expect(scoresByIndex(r)).toEqual(baseline);
  });

  it("names the child's last stderr lines in the error, and passes them on to this process's stderr", async () => {
    await isolated.rerank(exampleRequest());
    const pid = isolated.childPid!;
    let forwarded = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      forwarded += chunk.toString();
      return true;
    });
    try {
      process.kill(pid, 'SIGUSR1'); // Node in the child opens its inspector and says so on stderr
      while (!/inspector/i.test(forwarded)) await sleep(20);
      const request = isolated.rerank(longRequest());
      process.kill(pid, 'SIGKILL');
      const err = (await request.catch((e: unknown) => e)) as RerankError;
      expect(err.code).toBe('BACKEND_CRASHED');
      expect(err.message).toMatch(/SIGKILL; its last stderr lines:\n(.|\n)*inspector/i);
    } finally {
      spy.mockRestore();
    }
    expect(scoresByIndex(await isolated.rerank(exampleRequest()))).toEqual(baseline);
  });

  it('dispose() rejects the call in flight, refuses later ones, and ends the child', async () => {
    const r = await Reranker.load({ ...options, isolate: true });
    const pid = r.childPid!;
    const running = r.rerank(exampleRequest());
    r.dispose();
    await expect(running).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(r.rerank(exampleRequest())).rejects.toMatchObject({ code: 'DISPOSED' });
    await untilGone(pid);
  });

  it('asyncDispose (await using) resolves once the child has exited, its memory free for the next load', async () => {
    const r = await Reranker.load({ ...options, isolate: true });
    const pid = r.childPid!;
    await r.rerank(exampleRequest());
    await r[Symbol.asyncDispose]();
    expect(alive(pid)).toBe(false);
  });

  it.each(['dispose', 'no-dispose', 'async-dispose'])(
    'leaves no handle open: a process that loaded an isolated model exits by itself (%s), and the child goes',
    async (mode) => {
      // Without dispose(), as a script that leaves it to the process's exit: an in-process model
      // lets the process end after its last answer, so an isolated one must too. Awaiting
      // asyncDispose, the script goes on once the child has exited (it must not end the process first).
      const script = join(packageRoot, 'dist', 'test', 'fixtures', 'isolated-exit.js');
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [script, model, mode], { timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(out))),
      );
      const { pid, alive } = JSON.parse(stdout) as { pid: number; alive: boolean };
      if (mode === 'async-dispose') expect(alive).toBe(false);
      await untilGone(pid);
    },
  );

  it('a restart whose load fails rejects the requests waiting on it with that failure, and a later one reloads', async () => {
    const copy = join(tmpdir(), `llama-rerank-restart-${process.pid}.gguf`);
    copyFileSync(model, copy);
    const r = await Reranker.load({ ...options, model: copy, isolate: true });
    try {
      await r.rerank(exampleRequest());
      rmSync(copy); // the next child cannot load it
      const pid = r.childPid!;
      process.kill(pid, 'SIGKILL');
      await untilGone(pid);
      while (!r.restarting) await sleep(20);
      const codes = await Promise.all(Array.from({ length: 4 }, () => r.rerank(exampleRequest()).then(() => 'ok', (e: RerankError) => e.code)));
      expect(codes).toEqual(Array(4).fill('MODEL_LOAD_FAILED'));
      copyFileSync(model, copy);
      expect(scoresByIndex(await r.rerank(exampleRequest()))).toEqual(baseline);
    } finally {
      r.dispose();
      rmSync(copy, { force: true });
    }
  });

  it('a file that fails to load: MODEL_LOAD_FAILED, and no child left behind', async () => {
    const bad = join(tmpdir(), `llama-rerank-not-gguf-${process.pid}.gguf`);
    writeFileSync(bad, 'not a gguf file');
    try {
      await expect(Reranker.load({ model: bad, isolate: true })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    } finally {
      rmSync(bad, { force: true });
    }
    await expect(Reranker.load({ model, isolate: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', field: 'isolate' });
  });
});

describe('LineTail', () => {
  it('keeps the last n lines, across chunks, the unfinished one included', () => {
    const tail = new LineTail(3, 10);
    tail.write('one\ntw');
    tail.write('o\n\nthree\nfour\nfive is long');
    expect(tail.text()).toBe('three\nfour\nfive is lo…');
    tail.write('\n' + 'x'.repeat(25) + '\n');
    expect(tail.text()).toBe('four\nfive is lo…\nxxxxxxxxxx…');
  });
});
