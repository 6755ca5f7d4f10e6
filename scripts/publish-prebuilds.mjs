// Publishes every package in packages/ and then llama-rerank itself, with those packages as its
// optionalDependencies (npm installs only the ones whose os/cpu match the user's machine).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
manifest.optionalDependencies = {};
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  execFileSync('npm', ['publish', '--access', 'public'], { cwd: join(root, 'packages', dir), stdio: 'inherit' });
  manifest.optionalDependencies[pkg.name] = pkg.version;
}
writeFileSync(join(root, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
execFileSync('npm', ['publish'], { cwd: root, stdio: 'inherit' });
