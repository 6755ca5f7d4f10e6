// Malformed model files: each is a load error (or a model that scores), never a crash of the
// process, also when a BF16 copy is made of it first (weights: 'bf16'). All cases load in one child process so that a crash is seen and named, not suffered.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../models/paths.js';
import { tinyModel } from './helpers.js';

interface Outcome {
  case?: string;
  start?: string;
  done?: number;
  ok?: number[];
  code?: string;
  message?: string;
}

describe('malformed model files', () => {
  it('refuses every corrupted, truncated and mutated variant of the tiny model without crashing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-corrupt-'));
    try {
      const child = spawnSync(process.execPath, [join(packageRoot, 'dist', 'test', 'fixtures', 'corrupt-models.js'), tinyModel('causal'), dir], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        env: { ...process.env, LLAMA_RERANK_CACHE: join(dir, 'cache') },
      });
      const lines: Outcome[] = child.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const started = lines.filter((l) => l.start).pop()?.start;
      expect(child.status, `crashed (${child.signal}) on: ${started}\n${child.stderr.slice(-500)}`).toBe(0);
      const outcomes = lines.filter((l) => l.case);
      expect(lines.pop()?.done).toBe(outcomes.length);
      expect(outcomes.length).toBeGreaterThan(100);
      for (const o of outcomes) {
        if (o.ok) {
          // a mutation that left the model loadable must still give real probabilities
          for (const s of o.ok) expect(s >= 0 && s <= 1, o.case).toBe(true);
        } else {
          expect(['MODEL_LOAD_FAILED', 'DECODE_FAILED'], `${o.case}: ${o.message}`).toContain(o.code);
          expect(o.message!.length).toBeGreaterThan(10);
        }
      }
      const refusedAtLoad = outcomes.filter((o) => o.code === 'MODEL_LOAD_FAILED').length;
      expect(refusedAtLoad).toBeGreaterThan(outcomes.length / 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000); // 138 loads: about a minute alone, several on a busy machine
});
