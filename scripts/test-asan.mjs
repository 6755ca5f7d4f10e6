// The native core under AddressSanitizer and LeakSanitizer (test/native/selftest.cpp), on both
// kinds of tiny test model. Needs the source build (npm install) and dist/ (npm test builds it).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { ensureTestModel } = await import(join(root, 'dist', 'test-models', 'generate.js'));
execFileSync('cmake', ['--build', join(root, 'build'), '--target', 'rerank_selftest_asan'], { stdio: 'inherit' });
const release = join(root, 'build', 'Release');
for (const kind of ['rank', 'causal']) {
  const model = ensureTestModel({ shape: 'tiny', kind, seed: 1 });
  console.log(`AddressSanitizer + LeakSanitizer, ${kind} model:`);
  execFileSync(join(release, 'rerank_selftest_asan'), [release, model], {
    stdio: 'inherit',
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1' },
  });
}
