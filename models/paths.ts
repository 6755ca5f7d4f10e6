// The package's root folder, found from this file (source or dist/) upward.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'llama-rerank') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('llama-rerank package root not found');
    dir = up;
  }
}

export const packageRoot = findRoot();
