// npm's install hook: use the prebuilt addon (a platform package or prebuilds/) or an earlier
// build when one loads; build from source otherwise.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function prebuiltLoads() {
  try {
    // dist/ is in the published package; a fresh clone has none yet and builds.
    const { addonPath } = await import('../dist/lib/native.js');
    createRequire(import.meta.url)(addonPath());
    return true;
  } catch {
    return false;
  }
}

if (process.env.LLAMA_RERANK_BUILD_FROM_SOURCE || !(await prebuiltLoads())) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { stdio: 'inherit', cwd: root });
}
