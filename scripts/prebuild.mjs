// Builds the prebuilt binaries of one platform and lays them out as npm packages in packages/:
//   @llama-rerank/<platform>-<arch>        the addon, llama.cpp and the CPU backend (all x86-64
//                                          variants: ggml picks the best one at run time)
//   @llama-rerank/<platform>-<arch>-<gpu>  one GPU backend library (cuda, vulkan), loaded by
//                                          lib/backends.ts after a probe in a child process
// Metal is built into the platform package on macOS (its library is small and always usable there).
//   node scripts/prebuild.mjs --backend cpu|cuda|vulkan|metal
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const backend = args[args.indexOf('--backend') + 1] ?? 'cpu';
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const target = `${process.platform}-${process.arch}`;
const buildDir = join(root, 'build-prebuild', backend);

execFileSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--backend', backend], {
  stdio: 'inherit',
  env: { ...process.env, LLAMA_RERANK_BUILD_DIR: buildDir, LLAMA_RERANK_CPU_ALL_VARIANTS: '1' },
});
const release = join(buildDir, 'Release');
const isLibrary = (f) => /\.(so|dll|dylib)$/.test(f);

function writePackage(dir, name, description, files) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name, version, description, license: 'MIT',
    os: [process.platform], cpu: [process.arch], files,
  }, null, 2) + '\n');
}

if (backend === 'cpu' || backend === 'metal') {
  const dir = join(root, 'packages', target);
  const out = join(dir, 'prebuilds', target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(release, 'llama_rerank.node'), join(out, 'llama_rerank.napi.node'));
  for (const f of readdirSync(release).filter(isLibrary)) cpSync(join(release, f), join(out, f));
  if (existsSync(join(release, 'backends'))) cpSync(join(release, 'backends'), join(out, 'backends'), { recursive: true });
  writePackage(dir, `@llama-rerank/${target}`, `llama-rerank's prebuilt addon for ${target}`, ['prebuilds']);
} else {
  const dir = join(root, 'packages', `${target}-${backend}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'backends'), { recursive: true });
  for (const f of readdirSync(join(release, 'backends'))) cpSync(join(release, 'backends', f), join(dir, 'backends', f));
  writePackage(dir, `@llama-rerank/${target}-${backend}`, `llama-rerank's ${backend} backend for ${target}`, ['backends']);
}
console.log(`packages/ now holds the ${backend} prebuild for ${target}`);
