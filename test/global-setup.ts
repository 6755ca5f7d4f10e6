// Generates the test models once, before the test files run in parallel, and gives the run a temp
// folder of its own: whatever a test or the library leaves in it fails the run at the end, so no
// run fills a machine's /tmp (the test files inherit TMPDIR, and os.tmpdir() reads it).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestModel } from '../test-models/generate.js';

export default function setup(): () => void {
  for (const kind of ['rank', 'causal'] as const) ensureTestModel({ shape: 'tiny', kind, seed: 1 });
  const outer = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-test-'));
  process.env.TMPDIR = dir;
  return () => {
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    const left = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    if (left.length === 0) return;
    // vitest reports an error thrown here but exits with 0: the exit code is what fails CI
    process.exitCode = 1;
    throw new Error(`the tests left ${left.length} entries in their temp folder: ${left.join(', ')}`);
  };
}
