// Which ggml backends this process can use, and which one it uses.
//
// The CPU backend ships beside the addon. GPU backends are separate libraries: built from source
// beside the addon (in backends/), installed as optional packages (@llama-rerank/<platform>-<arch>-cuda,
// -vulkan), or named by LLAMA_RERANK_BACKEND_PATH. Each is probed in a child process before this
// process loads it, so a broken driver crashes the probe and not the host; the best working one is
// taken (CUDA, then Vulkan, then Metal, then the CPU), and the reasons for skipping the others are kept.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RerankError } from './errors.js';
import type { DeviceInfo, GpuOption } from './types.js';

export type GpuBackend = Exclude<GpuOption, 'auto' | 'cpu'>;
const PREFERENCE: GpuBackend[] = ['cuda', 'vulkan', 'metal'];
const LIB = /^(?:lib)?ggml-(cuda|vulkan|metal)\.(?:so|dll|dylib)$/;

export interface BackendLibrary {
  backend: GpuBackend;
  path: string;
  /** Where it was found: 'addon', 'package <name>' or 'LLAMA_RERANK_BACKEND_PATH'. */
  source: string;
  /** Set once probed: usable, with the devices it showed, or why not. */
  ok?: boolean;
  devices?: string[];
  reason?: string;
}

export interface BackendReport {
  /** 'cpu' or the GPU backend that models load onto by default. */
  selected: 'cpu' | GpuBackend;
  why: string;
  libraries: BackendLibrary[];
}

function librariesIn(dir: string, source: string): BackendLibrary[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).flatMap((f) => {
    const m = LIB.exec(f);
    return m ? [{ backend: m[1] as GpuBackend, path: join(dir, f), source }] : [];
  });
}

/** Every GPU backend library present, best first. */
export function findBackendLibraries(addonDir: string): BackendLibrary[] {
  const found = librariesIn(join(addonDir, 'backends'), 'addon');
  const require = createRequire(import.meta.url);
  for (const backend of ['cuda', 'vulkan'] as const) {
    const name = `@llama-rerank/${process.platform}-${process.arch}-${backend}`;
    try {
      found.push(...librariesIn(join(dirname(require.resolve(`${name}/package.json`)), 'backends'), `package ${name}`));
    } catch {
      // not installed
    }
  }
  for (const entry of (process.env.LLAMA_RERANK_BACKEND_PATH ?? '').split(delimiter).filter(Boolean)) {
    const m = LIB.exec(basename(entry));
    if (m && existsSync(entry)) found.push({ backend: m[1] as GpuBackend, path: entry, source: 'LLAMA_RERANK_BACKEND_PATH' });
    else found.push(...librariesIn(entry, 'LLAMA_RERANK_BACKEND_PATH'));
  }
  return found.sort((a, b) => PREFERENCE.indexOf(a.backend) - PREFERENCE.indexOf(b.backend));
}

const PROBE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'probe-backend.js');
/** Starts the probe's answer line: a driver or library may print anything else, before or after it. */
export const PROBE_ANSWER = 'llama-rerank-probe-answer: ';

function probeAnswer(stdout: string): { devices?: string[]; reason?: string } {
  const line = stdout.split(/\r?\n/).reverse().find((l) => l.startsWith(PROBE_ANSWER));
  if (line === undefined) return { reason: 'the probe exited without an answer' };
  try {
    return JSON.parse(line.slice(PROBE_ANSWER.length)) as { devices?: string[]; reason?: string };
  } catch {
    return { reason: `the probe's answer is not JSON: ${line}` };
  }
}

/** Loads the library in a child process and computes on each of its devices there. */
export function probe(lib: BackendLibrary, addonPath: string): BackendLibrary {
  const child = spawnSync(process.execPath, [PROBE_SCRIPT, addonPath, lib.path], {
    encoding: 'utf8',
    timeout: 60_000,
    env: process.env,
  });
  if (child.status !== 0) {
    const how = child.signal ? `killed by ${child.signal}` : child.error ? child.error.message : `exit code ${child.status}`;
    return { ...lib, ok: false, reason: `the probe crashed (${how}) ${child.stderr.trim().split('\n').pop() ?? ''}`.trim() };
  }
  const result = probeAnswer(child.stdout);
  return result.reason ? { ...lib, ok: false, reason: result.reason } : { ...lib, ok: true, devices: result.devices };
}

/** The backend LLAMA_RERANK_GPU asks for ('auto' when unset). */
function forcedBackend(): GpuOption {
  const forced = (process.env.LLAMA_RERANK_GPU ?? 'auto') as GpuOption;
  if (!['auto', 'cpu', ...PREFERENCE].includes(forced)) {
    throw new RerankError('INVALID_OPTIONS', `LLAMA_RERANK_GPU must be auto, cpu, cuda, vulkan or metal, not "${forced}"`);
  }
  return forced;
}

/**
 * Probes the libraries (all of them, or only the forced backend's) and picks the default: forced by
 * LLAMA_RERANK_GPU, else the best that works. Every library that passed is loaded, so a model can
 * still ask for another backend by its `gpu` option.
 */
export function chooseBackend(libraries: BackendLibrary[], addonPath: string): BackendReport {
  const forced = forcedBackend();
  if (forced === 'cpu') return { selected: 'cpu', why: 'LLAMA_RERANK_GPU=cpu', libraries };
  const wanted = libraries.filter((l) => forced === 'auto' || l.backend === forced);
  const probed = wanted.map((lib) => {
    const r = probe(lib, addonPath);
    if (!r.ok) process.emitWarning(`llama-rerank: not using ${r.path}: ${r.reason}`, { code: 'LLAMA_RERANK_BACKEND' });
    return r;
  });
  const best = probed.find((l) => l.ok);
  if (forced !== 'auto' && !best) {
    const reasons = probed.map((p) => `${p.path}: ${p.reason}`).join('; ');
    throw new RerankError('MODEL_LOAD_FAILED', `LLAMA_RERANK_GPU=${forced}, but no working ${forced} backend: ${reasons || 'none found'}`);
  }
  const why = best
    ? `${best.backend} from ${best.source} passed its probe on ${best.devices?.join(', ')}`
    : probed.length > 0 ? 'no GPU backend passed its probe' : 'no GPU backend library found';
  return { selected: best?.backend ?? 'cpu', why, libraries: [...probed, ...libraries.filter((l) => !wanted.includes(l))] };
}

/**
 * The default of a static build (LLAMA_RERANK_BACKEND_DL=OFF: the backends compiled into the addon,
 * nothing to probe): the best of CUDA, Vulkan and Metal compiled in with a device, else the CPU; or
 * the one LLAMA_RERANK_GPU forces. Each of those backends is a library of the report, the addon
 * itself, with the devices a model loads onto (modelDevices), as a probed library has.
 */
export function compiledInBackend(devices: DeviceInfo[], addonPath: string): BackendReport {
  const forced = forcedBackend();
  if (forced === 'cpu') return { selected: 'cpu', why: 'LLAMA_RERANK_GPU=cpu', libraries: [] };
  // ggml's Metal backend registers as "MTL" in some releases
  const backendOf = (d: DeviceInfo) => (d.backend.toLowerCase() === 'mtl' ? 'metal' : d.backend.toLowerCase());
  const gpus = devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
  const libraries: BackendLibrary[] = PREFERENCE.flatMap((backend) => {
    const own = modelDevices(gpus.filter((d) => backendOf(d) === backend));
    return own.length > 0 ? [{ backend, path: addonPath, source: 'the addon (compiled in)', ok: true, devices: own.map((d) => d.name) }] : [];
  });
  const best = libraries.find((l) => forced === 'auto' || l.backend === forced);
  if (forced !== 'auto' && !best) {
    throw new RerankError('MODEL_LOAD_FAILED', `LLAMA_RERANK_GPU=${forced}, but this build has no ${forced} device`);
  }
  const others = gpus.filter((d) => !(PREFERENCE as string[]).includes(backendOf(d)));
  const why = best
    ? `${best.backend} compiled into this build, on ${best.devices!.join(', ')}`
    : others.length > 0
      ? `no CUDA, Vulkan or Metal device compiled into this build (${others.map((d) => `${d.name} of ${d.backend}`).join(', ')} not chosen)`
      : 'no GPU device among the backends compiled into this build';
  return { selected: best?.backend ?? 'cpu', why, libraries };
}

/**
 * Of one backend's usable devices, those a model loads onto: its discrete GPUs, or its integrated
 * ones when it has none, as llama.cpp's own default does (ggml's Vulkan backend lists both, and a
 * model split with an integrated GPU waits on it).
 */
export function modelDevices<D extends { type: string }>(devices: D[]): D[] {
  const discrete = devices.filter((d) => d.type === 'gpu');
  return discrete.length > 0 ? discrete : devices;
}

/** The devices of a backend that passed their probe; undefined when none was probed (all are used). */
export function passingDevices(report: BackendReport, backend: GpuBackend): string[] | undefined {
  const devices = report.libraries.filter((l) => l.ok && l.backend === backend).flatMap((l) => l.devices ?? []);
  return devices.length > 0 ? devices : undefined;
}
