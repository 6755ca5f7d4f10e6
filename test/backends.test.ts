// Run-time backend choice. Each case runs in a child process: the choice is made once per process.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../models/paths.js';
import { tinyModel } from './helpers.js';

const script = join(packageRoot, 'dist', 'test', 'fixtures', 'backend-probe-run.js');
// node-llama-cpp (a dev dependency) ships ggml's Vulkan backend built from the same llama.cpp release.
const vulkanLibrary = join(packageRoot, 'node_modules', '@node-llama-cpp', 'linux-x64-vulkan', 'bins', 'linux-x64-vulkan', 'libggml-vulkan.so');
const hasVulkanDriver = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((d) => existsSync(d));

interface RunResult {
  backends: { selected: string; why: string; libraries: { backend: string; ok?: boolean; reason?: string; devices?: string[] }[] };
  scores?: Record<string, number[]>;
  info?: Record<string, { backend: string; gpuLayers: number; layers: number; devices: string[]; kvStreams: number }>;
  error?: { code: string; message: string };
}

function run(env: Record<string, string>, gpus: string[] = []): RunResult {
  const out = execFileSync(process.execPath, [script, tinyModel('rank'), ...gpus], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // the last line that is the fixture's answer (a test below makes the process print more)
  return JSON.parse(out.trim().split('\n').filter((l) => /^\{"(backends|error)"/.test(l)).pop()!);
}

// a folder of fake backend libraries for one test, removed after it
let fakes: string[] = [];
function fakeBackendDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-backend-'));
  fakes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of fakes) rmSync(dir, { recursive: true, force: true });
  fakes = [];
});

describe('backend choice', () => {
  it('uses the CPU when no GPU backend library is present', () => {
    const r = run({ LLAMA_RERANK_BACKEND_PATH: '' }, ['auto']);
    expect(r.backends.selected).toBe('cpu');
    expect(r.info!.auto.backend).toBe('CPU');
  });

  it('skips a library that cannot be loaded, says why, and falls back to the CPU', () => {
    const dir = fakeBackendDir();
    writeFileSync(join(dir, 'libggml-cuda.so'), 'not a shared library');
    const r = run({ LLAMA_RERANK_BACKEND_PATH: dir }, ['auto']);
    expect(r.backends.selected).toBe('cpu');
    expect(r.backends.libraries[0]).toMatchObject({ backend: 'cuda', ok: false });
    expect(r.backends.libraries[0].reason).toMatch(/cannot load/);
    expect(r.info!.auto.backend).toBe('CPU');
  });

  it("reads the probe's answer whatever else its process prints, before it or at exit", () => {
    const dir = fakeBackendDir();
    writeFileSync(join(dir, 'libggml-cuda.so'), 'not a shared library');
    // as a driver might: lines of its own, JSON-looking ones too, when loaded and when the process exits
    const talker = join(dir, 'talker.cjs');
    writeFileSync(talker, `process.stdout.write('{"reason":"driver banner"}\\n');
      process.on('exit', () => process.stdout.write('{"devices":["Bogus0"]}\\ndriver says bye\\n'));`);
    const r = run({ LLAMA_RERANK_BACKEND_PATH: dir, NODE_OPTIONS: `--require ${talker}` }, ['auto']);
    expect(r.backends.selected).toBe('cpu');
    expect(r.backends.libraries[0]).toMatchObject({ backend: 'cuda', ok: false });
    expect(r.backends.libraries[0].reason).toMatch(/cannot load/);
    expect(r.info!.auto.backend).toBe('CPU');
  });

  const cc = spawnSync('cc', ['--version']).status === 0;
  it.skipIf(!cc)('survives a backend library that crashes its process when loaded', () => {
    const dir = fakeBackendDir();
    writeFileSync(join(dir, 'crash.c'), '#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) { abort(); }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libggml-vulkan.so'), join(dir, 'crash.c')]);
    const r = run({ LLAMA_RERANK_BACKEND_PATH: dir }, ['auto']);
    expect(r.backends.selected).toBe('cpu');
    expect(r.backends.libraries[0].reason).toMatch(/crashed.*SIGABRT/);
  });

  it('LLAMA_RERANK_GPU forces a backend, and fails clearly when it is missing', () => {
    expect(run({ LLAMA_RERANK_GPU: 'cuda', LLAMA_RERANK_BACKEND_PATH: '' }, ['auto']).error).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    expect(run({ LLAMA_RERANK_GPU: 'cpu', LLAMA_RERANK_BACKEND_PATH: vulkanLibrary }).backends.selected).toBe('cpu');
  });

  const vulkan = existsSync(vulkanLibrary) && hasVulkanDriver;
  const maxDiff = (r: RunResult, gpu = 'auto') => Math.max(...r.scores![gpu].map((s, i) => Math.abs(s - r.scores!.cpu[i])));
  const vulkanEnv = { LLAMA_RERANK_BACKEND_PATH: vulkanLibrary, GGML_VK_VISIBLE_DEVICES: '0' };

  it.skipIf(!vulkan)("Vulkan (Mesa's software device here), FP32 shaders: every layer offloaded, within 2e-3 of the CPU", () => {
    const r = run({ ...vulkanEnv, GGML_VK_DISABLE_F16: '1' }, ['auto', 'cpu']);
    expect(r.backends.selected).toBe('vulkan');
    expect(r.info!.auto.backend).toBe('Vulkan');
    expect(r.info!.auto.gpuLayers).toBeGreaterThan(r.info!.auto.layers);
    expect(maxDiff(r)).toBeLessThan(2e-3); // measured 2.1e-4
  });

  it.skipIf(!vulkan)('Vulkan with a KV stream per pair (kvStreams) scores as the CPU does, FP32 shaders', () => {
    // a GPU backend's attention over several streams at once: the path kvStreams exists for
    const r = run({ ...vulkanEnv, GGML_VK_DISABLE_F16: '1' }, ['auto:streams', 'cpu']);
    expect(r.info!['auto:streams']).toMatchObject({ backend: 'Vulkan', kvStreams: 4 });
    expect(maxDiff(r, 'auto:streams')).toBeLessThan(2e-3);
  });

  it.skipIf(!vulkan)("Vulkan with its default FP16 shaders stays within 5e-3 of the CPU", () => {
    // ggml-vulkan computes in FP16 where the device allows; measured 2.6e-3 on the tiny random model.
    const r = run(vulkanEnv, ['auto', 'cpu']);
    expect(maxDiff(r)).toBeLessThan(5e-3);
    // the model is on the devices that passed the probe, passed down by name
    expect(r.info!.auto.devices).toEqual(r.backends.libraries[0].devices);
  });
});
