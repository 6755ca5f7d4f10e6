// Generates the test models once, before the test files run in parallel.
import { ensureTestModel } from '../test-models/generate.js';

export default function setup(): void {
  for (const kind of ['rank', 'causal'] as const) ensureTestModel({ shape: 'tiny', kind, seed: 1 });
}
