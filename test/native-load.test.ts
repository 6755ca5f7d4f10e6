// Loading: llama.cpp's errors reach stderr as they happen, and a model loads onto the devices
// that passed the backend probe only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { passingDevices } from '../lib/backends.js';
import { nativeModule } from '../lib/native.js';
import { packageRoot } from '../models/paths.js';
import { tinyModel } from './helpers.js';

describe('llama.cpp errors', () => {
  it('reach stderr as they happen, without LLAMA_RERANK_VERBOSE (a process that dies leaves its cause)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-errlog-'));
    try {
      const broken = join(dir, 'truncated.gguf');
      const bytes = readFileSync(tinyModel('rank'));
      writeFileSync(broken, bytes.subarray(0, bytes.length >> 1));
      const index = join(packageRoot, 'dist', 'lib', 'index.js');
      // The child reports the error's code only: whatever reaches its stderr came from the log.
      const script = `import { Reranker } from ${JSON.stringify(index)};
        try { await Reranker.load({ model: ${JSON.stringify(broken)} }); } catch (e) { process.stdout.write(e.code + '\\n' + e.message); }`;
      const env = { ...process.env };
      delete env.LLAMA_RERANK_VERBOSE;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
      const [code, message] = child.stdout.split('\n');
      expect(code).toBe('MODEL_LOAD_FAILED');
      const llamaText = message.split(`${broken}: `).pop()!.split('\n')[0];
      expect(llamaText.length).toBeGreaterThan(10);
      expect(child.stderr).toContain(llamaText);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LLAMA_RERANK_VERBOSE', () => {
  const loadWith = (verbose: string) => {
    const index = join(packageRoot, 'dist', 'lib', 'index.js');
    const script = `import { Reranker } from ${JSON.stringify(index)};
      const r = await Reranker.load({ model: ${JSON.stringify(tinyModel('rank'))} }); await r.dispose();`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, LLAMA_RERANK_VERBOSE: verbose },
    });
    expect(child.status).toBe(0);
    return child.stderr;
  };

  it('turns llama.cpp\'s logging on with 1 and leaves it off with 0 or empty', () => {
    expect(loadWith('1')).toContain('llama_model_loader');
    expect(loadWith('0')).not.toContain('llama_model_loader');
    expect(loadWith('')).not.toContain('llama_model_loader');
  });
});

describe('devices', () => {
  it('a GPU backend loads onto the devices named, refusing one it does not have', async () => {
    const load = nativeModule().loadModel({
      path: tinyModel('rank'), gpu: 'vulkan', devices: ['Vulkan7'], maxLength: 256, batchSize: 64, ubatchSize: 64,
      maxSequences: 8, flashAttention: 'auto', kvType: 'f16', pack: false,
    });
    await expect(load).rejects.toThrow(/no vulkan device named "Vulkan7"/);
  });

  it('the devices passed down are those that passed the probe, of that backend', () => {
    const report = {
      selected: 'cuda' as const,
      why: '',
      libraries: [
        { backend: 'cuda' as const, path: 'a', source: 'addon', ok: true, devices: ['CUDA1'] },
        { backend: 'cuda' as const, path: 'b', source: 'addon', ok: false, reason: 'crashed' },
        { backend: 'vulkan' as const, path: 'c', source: 'addon', ok: true, devices: ['Vulkan0', 'Vulkan1'] },
      ],
    };
    expect(passingDevices(report, 'cuda')).toEqual(['CUDA1']);
    expect(passingDevices(report, 'vulkan')).toEqual(['Vulkan0', 'Vulkan1']);
    expect(passingDevices(report, 'metal')).toBeUndefined();
  });
});
