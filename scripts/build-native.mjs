// Builds the addon and llama.cpp from source with cmake-js.
//   node scripts/build-native.mjs [--backend cpu|cuda|vulkan|metal] [--debug]
// LLAMA_RERANK_BACKEND sets the backend too; extra CMake flags go in LLAMA_RERANK_CMAKE_ARGS.
import { execFileSync } from 'node:child_process';
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

ensureLlamaSource();
const require = createRequire(join(root, 'package.json'));
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const cd = [...backendFlags[backend], ...(process.env.LLAMA_RERANK_CMAKE_ARGS ?? '').split(/\s+/).filter(Boolean)];
const cmd = [
  cmakeJs, 'build', '--directory', root, '--out', join(root, 'build'),
  '--parallel', String(availableParallelism()),
  ...(args.includes('--debug') ? ['--config', 'RelWithDebInfo'] : []),
  ...cd.map((d) => `--CD${d}`),
];
console.log(`llama-rerank: building the ${backend} backend from source`);
// ccache keys on absolute paths; a base dir makes a clone in another folder hit the same cache.
const env = { CCACHE_BASEDIR: root, CCACHE_NOHASHDIR: 'true', ...process.env };
execFileSync(process.execPath, cmd, { stdio: 'inherit', cwd: root, env });
