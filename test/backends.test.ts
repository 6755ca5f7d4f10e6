// Run-time backend choice. Each case runs in a child process: the choice is made once per process.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compiledInBackend, modelDevices, passingDevices } from '../lib/backends.js';
import type { DeviceInfo } from '../lib/types.js';
import { packageRoot } from '../models/paths.js';
import { tinyModel } from './helpers.js';

const script = join(packageRoot, 'dist', 'test', 'fixtures', 'backend-probe-run.js');
// node-llama-cpp (a dev dependency) ships ggml's Vulkan backend built from the same llama.cpp release.
const vulkanLibrary = join(packageRoot, 'node_modules', '@node-llama-cpp', 'linux-x64-vulkan', 'bins', 'linux-x64-vulkan', 'libggml-vulkan.so');
const hasVulkanDriver = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((d) => existsSync(d));

interface RunResult {
  backends: { selected: string; why: string; libraries: { backend: string; ok?: boolean; reason?: string; devices?: string[] }[] };
  scores?: Record<string, number[]>;
  info?: Record<string, { backend: string; gpuLayers: number; layers: number; devices: string[]; batchSize: number; kvStreams: number; contexts: number; kvCacheBytes: number; kvCacheCpuBytes: number }>;
  error?: { code: string; message: string };
}

function run(env: Record<string, string>, gpus: string[] = []): RunResult & { stderr: string } {
  const child = spawnSync(process.execPath, [script, tinyModel('rank'), ...gpus], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.status !== 0) throw new Error(`the fixture exited with ${child.status ?? child.signal}: ${child.stderr}`);
  // the last line that is the fixture's answer (a test below makes the process print more)
  const answer = JSON.parse(child.stdout.trim().split('\n').filter((l) => /^\{"(backends|error)"/.test(l)).pop()!) as RunResult;
  return { ...answer, stderr: child.stderr };
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
    expect(r.info!.auto.contexts).toBe(1); // several by default on CUDA only, where they were measured
    expect(maxDiff(r)).toBeLessThan(2e-3); // measured 2.1e-4
  });

  it.skipIf(!vulkan)('Vulkan with a KV stream per pair (kvStreams) scores as the CPU does, FP32 shaders, in calls of 256 tokens a stream', () => {
    // a GPU backend's attention over several streams at once: the path kvStreams exists for; on a
    // GPU its calls default to 256 tokens a stream (lib/load-native.ts), 2048 without streams
    const r = run({ ...vulkanEnv, GGML_VK_DISABLE_F16: '1' }, ['auto:streams', 'auto', 'cpu']);
    expect(r.info!['auto:streams']).toMatchObject({ backend: 'Vulkan', kvStreams: 12, batchSize: 12 * 256 });
    expect(r.info!.auto).toMatchObject({ backend: 'Vulkan', kvStreams: 0, batchSize: 2048 });
    expect(maxDiff(r, 'auto:streams')).toBeLessThan(2e-3);
  });

  it.skipIf(!vulkan)('Vulkan with two contexts decoding parts of a call at once scores as the CPU does, FP32 shaders', () => {
    // two contexts of one model computing on one GPU device side by side (native/decode_lanes.h)
    const r = run({ ...vulkanEnv, GGML_VK_DISABLE_F16: '1' }, ['auto:contexts', 'cpu']);
    expect(r.info!['auto:contexts']).toMatchObject({ backend: 'Vulkan', contexts: 2 });
    expect(maxDiff(r, 'auto:contexts')).toBeLessThan(2e-3);
  });

  it.skipIf(!vulkan)("a partial offload keeps the KV cells of the layers llama.cpp leaves on the CPU: kvCacheCpuBytes is its CPU KV buffer", () => {
    // gpuLayers n puts the output layer and the last n - 1 layers on the GPU (the tiny model has 2)
    const loads = ['auto:layers1', 'auto:layers2', 'auto:layers3'];
    const r = run({ ...vulkanEnv, GGML_VK_DISABLE_F16: '1', LLAMA_RERANK_VERBOSE: '1' }, loads);
    // llama.cpp's report of each load: "load_tensors: offloaded 2/3 layers to GPU", then a line per
    // KV buffer, "llama_kv_cache:        CPU KV buffer size =     1.38 MiB"
    const reports = r.stderr.split('load_tensors: offloaded ').slice(1);
    expect(reports).toHaveLength(loads.length);
    const cpuMiB = reports.map((text) => Number(/llama_kv_cache: +CPU KV buffer size = +([\d.]+) MiB/.exec(text)?.[1] ?? 0));
    expect(cpuMiB[0]).toBeGreaterThan(0);
    expect(cpuMiB[2]).toBe(0);
    loads.forEach((load, i) => {
      expect(r.info![load].kvCacheCpuBytes / 2 ** 20).toBeCloseTo(cpuMiB[i], 2);
    });
    expect(r.info!['auto:layers2'].kvCacheCpuBytes).toBe(r.info!['auto:layers2'].kvCacheBytes / 2);
  });

  it.skipIf(!vulkan)("Vulkan with its default FP16 shaders stays within 5e-3 of the CPU", () => {
    // ggml-vulkan computes in FP16 where the device allows; measured 2.6e-3 on the tiny random model.
    const r = run(vulkanEnv, ['auto', 'cpu']);
    expect(maxDiff(r)).toBeLessThan(5e-3);
    // the model is on the devices that passed the probe, passed down by name
    expect(r.info!.auto.devices).toEqual(r.backends.libraries[0].devices);
  });
});

describe('a static build (LLAMA_RERANK_BACKEND_DL=OFF): the backends compiled in, nothing probed', () => {
  const device = (name: string, backend: string, type: DeviceInfo['type']): DeviceInfo => ({ name, description: name, backend, type, memoryFree: 0, memoryTotal: 0 });
  const cpu = device('CPU', 'CPU', 'cpu');
  const withGpuEnv = (value: string | undefined, f: () => void) => {
    const before = process.env.LLAMA_RERANK_GPU;
    if (value === undefined) delete process.env.LLAMA_RERANK_GPU;
    else process.env.LLAMA_RERANK_GPU = value;
    try {
      f();
    } finally {
      if (before === undefined) delete process.env.LLAMA_RERANK_GPU;
      else process.env.LLAMA_RERANK_GPU = before;
    }
  };

  it('takes the best GPU backend with a device, as llama.cpp loads onto it, else the CPU (whose batches and scores then follow)', () => {
    withGpuEnv(undefined, () => {
      expect(compiledInBackend([cpu], 'addon.node').selected).toBe('cpu');
      expect(compiledInBackend([cpu, device('BLAS', 'BLAS', 'accel')], 'addon.node').selected).toBe('cpu');
      expect(compiledInBackend([cpu, device('Vulkan0', 'Vulkan', 'igpu'), device('CUDA0', 'CUDA', 'gpu')], 'addon.node')).toMatchObject({
        selected: 'cuda',
        why: expect.stringContaining('CUDA0'),
      });
      expect(compiledInBackend([device('MTL0', 'MTL', 'gpu'), cpu], 'addon.node').selected).toBe('metal');
      expect(compiledInBackend([device('Metal', 'Metal', 'igpu'), cpu], 'addon.node').selected).toBe('metal');
      // a GPU backend llama-rerank does not choose (a ROCm build of ggml-cuda) is named, not hidden
      expect(compiledInBackend([cpu, device('ROCm0', 'ROCm', 'gpu')], 'addon.node')).toMatchObject({ selected: 'cpu', why: expect.stringContaining('ROCm0 of ROCm') });
    });
  });

  it("loads a model onto a backend's discrete GPUs, its integrated ones only when it has none (llama.cpp's default)", () => {
    const gpu0 = device('Vulkan0', 'Vulkan', 'gpu');
    const igpu = device('Vulkan1', 'Vulkan', 'igpu');
    expect(modelDevices([igpu, gpu0])).toEqual([gpu0]);
    expect(modelDevices([igpu])).toEqual([igpu]);
    withGpuEnv(undefined, () => {
      const report = compiledInBackend([cpu, igpu, gpu0], 'addon.node');
      expect(report).toMatchObject({ selected: 'vulkan', why: 'vulkan compiled into this build, on Vulkan0' });
      expect(passingDevices(report, 'vulkan')).toEqual(['Vulkan0']); // what the model is loaded onto
      expect(passingDevices(compiledInBackend([cpu, igpu], 'addon.node'), 'vulkan')).toEqual(['Vulkan1']);
    });
  });

  it('LLAMA_RERANK_GPU forces it, and fails clearly when the build has no such device', () => {
    const both = [cpu, device('Vulkan0', 'Vulkan', 'gpu'), device('CUDA0', 'CUDA', 'gpu')];
    withGpuEnv('cpu', () => expect(compiledInBackend(both, 'addon.node').selected).toBe('cpu'));
    withGpuEnv('vulkan', () => expect(compiledInBackend(both, 'addon.node').selected).toBe('vulkan'));
    withGpuEnv('cuda', () => expect(() => compiledInBackend([cpu], 'addon.node')).toThrow(expect.objectContaining({ code: 'MODEL_LOAD_FAILED' })));
    withGpuEnv('tpu', () => expect(() => compiledInBackend(both, 'addon.node')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' })));
  });
});
