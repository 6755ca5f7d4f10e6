// Builds the addon and llama.cpp from source with cmake-js.
//   node scripts/build-native.mjs [--backend cpu|cuda|vulkan|metal] [--debug]
// LLAMA_RERANK_BACKEND sets the backend too; extra CMake flags go in LLAMA_RERANK_CMAKE_ARGS.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLlamaSource } from './llama-source.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const backend = flag('--backend') ?? process.env.LLAMA_RERANK_BACKEND ?? (process.platform === 'darwin' ? 'metal' : 'cpu');

const backendFlags = {
  cpu: ['GGML_METAL=OFF'],
  cuda: ['GGML_CUDA=ON', `CMAKE_CUDA_ARCHITECTURES=${process.env.CUDAARCHS ?? '75;80;86;89;90'}`],
  vulkan: ['GGML_VULKAN=ON'],
  metal: ['GGML_METAL=ON', 'GGML_METAL_EMBED_LIBRARY=ON'],
};
if (!backendFlags[backend]) throw new Error(`unknown backend "${backend}" (cpu, cuda, vulkan, metal)`);

// ggml's x86 CPU backend cannot be GGML_NATIVE when it is a loadable library, so a source build
// names this machine's features itself (one variant, as fast as native); prebuilds build them all.
function x86CpuFlags() {
  if (process.arch !== 'x64') return [];
  if (process.env.LLAMA_RERANK_CPU_ALL_VARIANTS || process.platform !== 'linux') {
    return ['GGML_NATIVE=OFF', 'GGML_CPU_ALL_VARIANTS=ON'];
  }
  const flags = new Set((readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/));
  const features = {
    SSE42: 'sse4_2', AVX: 'avx', AVX2: 'avx2', FMA: 'fma', F16C: 'f16c', BMI2: 'bmi2', AVX_VNNI: 'avx_vnni',
    AVX512: 'avx512f', AVX512_VBMI: 'avx512vbmi', AVX512_VNNI: 'avx512_vnni', AVX512_BF16: 'avx512_bf16',
  };
  return ['GGML_NATIVE=OFF', ...Object.entries(features).map(([ggml, cpu]) => `GGML_${ggml}=${flags.has(cpu) ? 'ON' : 'OFF'}`)];
}

ensureLlamaSource();
// cmake-js is a dev dependency: a user building from source after `npm i llama-rerank` has only the
// registry, so it is installed beside llama.cpp's source (deps/, once) when it cannot be resolved.
function findCmakeJs() {
  for (const base of [root, join(root, 'deps', 'cmake-js')]) {
    try {
      return join(dirname(createRequire(join(base, 'package.json')).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
    } catch {}
  }
  const dir = join(root, 'deps', 'cmake-js');
  console.log('llama-rerank: installing cmake-js@8 to build from source');
  execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--silent', 'cmake-js@^8'], { stdio: 'inherit', shell: process.platform === 'win32' });
  return join(dir, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
}
const cmakeJs = findCmakeJs();
const cd = [...backendFlags[backend], ...x86CpuFlags(), ...(process.env.LLAMA_RERANK_CMAKE_ARGS ?? '').split(/\s+/).filter(Boolean)];
const buildDir = process.env.LLAMA_RERANK_BUILD_DIR ?? join(root, 'build');
const cmd = [
  cmakeJs, 'build', '--directory', root, '--out', buildDir,
  '--parallel', String(availableParallelism()),
  ...(args.includes('--debug') ? ['--config', 'RelWithDebInfo'] : []),
  ...cd.map((d) => `--CD${d}`),
];
// cmake-js reuses a configured build folder as it is: configure anew when the options changed.
const stamp = join(buildDir, '.llama-rerank-options');
const options = JSON.stringify(cmd.slice(1));
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== options) rmSync(join(buildDir, 'CMakeCache.txt'), { force: true });
console.log(`llama-rerank: building the ${backend} backend from source`);
// ccache keys on absolute paths; a base dir makes a clone in another folder hit the same cache.
const env = { CCACHE_BASEDIR: root, CCACHE_NOHASHDIR: 'true', ...process.env };
execFileSync(process.execPath, cmd, { stdio: 'inherit', cwd: root, env });
writeFileSync(stamp, options);
