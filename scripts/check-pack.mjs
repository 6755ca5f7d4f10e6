// Installs the packed tarballs into a clean folder with no compiler on the PATH and reranks there:
// proof that `npm i llama-rerank` works from the prebuilt platform package alone.
//   node scripts/check-pack.mjs   (uses packages/<platform>-<arch> from scripts/prebuild.mjs,
//                                  else lays one out from this checkout's build/Release)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = `${process.platform}-${process.arch}`;
const work = mkdtempSync(join(tmpdir(), 'llama-rerank-pack-'));
// removed when the check passes (about 40 MB each run), kept to look into when it fails
process.on('exit', (code) => {
  if (code === 0) rmSync(work, { recursive: true, force: true });
  else console.error(`check:pack failed; its folder is kept: ${work}`);
});
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

let platformDir = join(root, 'packages', target);
if (!existsSync(platformDir)) {
  // the same layout scripts/prebuild.mjs writes, from the source build
  platformDir = join(work, 'platform');
  const out = join(platformDir, 'prebuilds', target);
  mkdirSync(out, { recursive: true });
  const release = join(root, 'build', 'Release');
  cpSync(join(release, 'llama_rerank.node'), join(out, 'llama_rerank.napi.node'));
  for (const f of readdirSync(release).filter((f) => /\.(so|dll|dylib)$/.test(f))) cpSync(join(release, f), join(out, f));
  writeFileSync(join(platformDir, 'package.json'), JSON.stringify({
    name: `@llama-rerank/${target}`, version, os: [process.platform], cpu: [process.arch], files: ['prebuilds'],
  }));
}

const pack = (dir) => join(work, execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop());
const mainTgz = pack(root);
const platformTgz = pack(platformDir);

// A PATH with node, npm and sh only: no cc, c++, cmake or make.
const bin = join(work, 'bin');
mkdirSync(bin);
symlinkSync(process.execPath, join(bin, 'node'));
symlinkSync('/bin/sh', join(bin, 'sh')); // npm runs install scripts through sh
symlinkSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim(), join(bin, 'npm'));
const env = { ...process.env, PATH: bin };
for (const tool of ['cc', 'c++', 'cmake', 'make']) {
  if (execFileSync('/bin/sh', ['-c', `command -v ${tool} || true`], { env, encoding: 'utf8' }).trim()) throw new Error(`${tool} is on the PATH`);
}

const app = join(work, 'app');
mkdirSync(app);
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}');
execFileSync('npm', ['install', '--no-audit', '--no-fund', platformTgz, mainTgz], { cwd: app, env, stdio: 'inherit' });
if (existsSync(join(app, 'node_modules', 'llama-rerank', 'build'))) throw new Error('the install built from source');
// The frameworks of llama-rerank/langchain and /llamaindex are optional peers: never installed with it.
for (const peer of ['@langchain/core', '@llamaindex/core']) {
  if (existsSync(join(app, 'node_modules', peer))) throw new Error(`npm installed the optional peer ${peer}`);
}

const model = execFileSync(process.execPath, ['-e',
  "import('./dist/test-models/generate.js').then(m => console.log(m.ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 })))"],
  { cwd: root, encoding: 'utf8' }).trim();
writeFileSync(join(app, 'check.mjs'), `
import { Reranker, getBackends } from 'llama-rerank';
const r = await Reranker.load({ model: ${JSON.stringify(model)} });
const res = await r.rerank({ query: 'capital of France', documents: ['Paris is the capital of France.', 'Bananas.'] });
console.log(JSON.stringify({ addon: getBackends().addon, results: res.results, usage: res.usage }));
r.dispose();
`);
const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, env, encoding: 'utf8' }).trim().split('\n').pop());
if (!out.addon.includes(join('@llama-rerank', target)) || out.results.length !== 2) throw new Error(`unexpected: ${JSON.stringify(out)}`);
console.log(`installed from ${mainTgz} and ${platformTgz} without a compiler; reranked with ${out.addon}`);
console.log(JSON.stringify(out.results));
