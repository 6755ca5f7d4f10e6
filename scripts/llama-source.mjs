// Checks out the llama.cpp release pinned by node-llama-cpp (its llama/gitRelease.bundle)
// into deps/llama.cpp. The source never lives in this repository: it comes from the registry.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const llamaDir = join(root, 'deps', 'llama.cpp');

export function findBundle() {
  const require = createRequire(join(root, 'package.json'));
  let pkgDir;
  try {
    // node-llama-cpp's exports hide package.json, so resolve its entry and walk up.
    let dir = dirname(require.resolve('node-llama-cpp'));
    while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'llama'))) dir = dirname(dir);
    pkgDir = dir;
  } catch {
    throw new Error(
      'llama.cpp source not found: building from source needs the pinned node-llama-cpp package ' +
        '(npm install --no-save node-llama-cpp@3.21.1), which carries it as a git bundle.',
    );
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
