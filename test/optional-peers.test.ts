// The framework packages are optional peers: package.json says so, and importing llama-rerank
// (or its server) in a fresh process loads none of them; only their own entry points do.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../models/paths.js';

const FRAMEWORKS = ['@langchain/core', '@llamaindex/core'];
const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every module a fresh node loads to import `specifier` (as an installed package is imported), ESM and CommonJS. */
function modulesLoadedBy(specifier: string): string[] {
  const record = join(dir, `${specifier.replace(/\W/g, '_')}.txt`);
  const script = `import { createRequire } from 'node:module';
await import(${JSON.stringify(specifier)});
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const out = execFileSync(process.execPath, ['--import', './test/fixtures/record-imports.mjs', '--input-type=module', '-e', script], {
    cwd: packageRoot,
    env: { ...process.env, RECORD_IMPORTS: record },
    encoding: 'utf8',
  });
  return [...readFileSync(record, 'utf8').trim().split('\n'), ...(JSON.parse(out) as string[])];
}

const frameworksIn = (modules: string[]) => FRAMEWORKS.filter((f) => modules.some((m) => m.includes(`/node_modules/${f}/`)));

describe('optional peer dependencies', () => {
  it('are peers marked optional, never dependencies', () => {
    for (const name of FRAMEWORKS) {
      expect(pkg.peerDependencies[name]).toBeDefined();
      expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(pkg.dependencies[name]).toBeUndefined();
    }
  });

  it('are not loaded by the main entry point or the server', () => {
    for (const entry of ['llama-rerank', 'llama-rerank/server']) {
      const modules = modulesLoadedBy(entry);
      expect(modules.some((m) => m.includes('/dist/lib/'))).toBe(true);
      expect(frameworksIn(modules)).toEqual([]);
    }
  });

  it('are loaded by their own entry points (the check above can see them)', () => {
    expect(frameworksIn(modulesLoadedBy('llama-rerank/langchain'))).toEqual(['@langchain/core']);
    expect(frameworksIn(modulesLoadedBy('llama-rerank/llamaindex'))).toEqual(['@llamaindex/core']);
  });
});
