// Compiles the TypeScript (tsc -p tsconfig.json) into dist/, then marks the command line's entry
// executable: tsc writes new files without the bit, and `npx llama-rerank` in a checkout runs that
// file itself (npm sets the bit only for the bins of packages it installs).
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const { status, error } = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (error) console.error(`tsc could not be run: ${error.message}`);
if (status !== 0) process.exit(status ?? 1);
chmodSync(join(root, 'dist', 'lib', 'cli', 'main.js'), 0o755);
