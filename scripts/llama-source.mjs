// Checks out the llama.cpp release pinned by node-llama-cpp (its llama/gitRelease.bundle)
// into deps/llama.cpp. The source never lives in this repository: it comes from the registry.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const llamaDir = join(root, 'deps', 'llama.cpp');

const NODE_LLAMA_CPP = 'node-llama-cpp@3.21.1';

// node-llama-cpp is a dev dependency: a user building from source has only the registry. Its
// tarball alone (no dependencies, none of its prebuilt binaries) carries the bundle.
function fetchPackage() {
  const dir = join(root, 'deps', 'node-llama-cpp');
  if (!existsSync(join(dir, 'package', 'llama', 'gitRelease.bundle'))) {
    mkdirSync(dir, { recursive: true });
    console.log(`llama-rerank: fetching ${NODE_LLAMA_CPP} for llama.cpp's source`);
    const out = execFileSync('npm', ['pack', NODE_LLAMA_CPP, '--silent', '--pack-destination', dir], { encoding: 'utf8', shell: process.platform === 'win32' });
    execFileSync('tar', ['-xzf', join(dir, out.trim().split('\n').pop()), '-C', dir, 'package/llama/gitRelease.bundle', 'package/llama/llama.cpp.info.json']);
  }
  return join(dir, 'package');
}

export function findBundle() {
  const require = createRequire(join(root, 'package.json'));
  let pkgDir;
  try {
    // node-llama-cpp's exports hide package.json, so resolve its entry and walk up.
    let dir = dirname(require.resolve('node-llama-cpp'));
    while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'llama'))) dir = dirname(dir);
    pkgDir = dir;
  } catch {
    pkgDir = fetchPackage();
  }
  const info = JSON.parse(readFileSync(join(pkgDir, 'llama', 'llama.cpp.info.json'), 'utf8'));
  return { bundle: join(pkgDir, 'llama', 'gitRelease.bundle'), tag: info.tag };
}

export function ensureLlamaSource() {
  const { bundle, tag } = findBundle();
  const stamp = join(llamaDir, '.llama-rerank-release');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === tag) return llamaDir;
  rmSync(llamaDir, { recursive: true, force: true });
  mkdirSync(dirname(llamaDir), { recursive: true });
  execFileSync('git', ['clone', '--quiet', '-c', 'advice.detachedHead=false', bundle, llamaDir], { stdio: 'inherit' });
  writeFileSync(stamp, tag);
  return llamaDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(ensureLlamaSource());
}
