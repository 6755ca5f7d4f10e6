// `llama-rerank pull`: downloads known models into the cache ahead of use; without a name, lists them.
import { existsSync } from 'node:fs';
import { cachedModelPath, modelCacheDir, resolveModel } from '../model-resolve.js';
import { findKnownModel, knownModels } from '../../models/registry.js';
import { modelWithWeights } from '../weight-copy.js';
import { UsageError, loadOptions, parse } from './args.js';
import { printOut } from './output.js';

export const PULL_USAGE = `Usage: llama-rerank pull [--weights bf16|f16] [NAME ...]

Downloads each named model into the cache (resuming an interrupted download, verifying its SHA-256
where one is known) and prints its path. Without a NAME, lists the known models. With --weights,
also makes the copy in that type that --weights loads (README "Weights") and prints its path: a
deployment can pay for the conversion ahead of its first start.
Environment: LLAMA_RERANK_CACHE (the cache folder), LLAMA_RERANK_MODEL_BASE_URL (a Hugging Face mirror).`;

function list(): Promise<void> {
  const lines = [`cache: ${modelCacheDir()}`];
  for (const m of knownModels()) {
    const state = existsSync(cachedModelPath(m)) ? 'cached' : m.repo ? `${(m.approxBytes / 1e9).toFixed(2)} GB` : 'no download';
    lines.push(`${m.name.padEnd(28)} ${state.padEnd(12)} ${m.sha256 ? 'sha256 known' : 'unverified  '} ${m.source}`);
  }
  return printOut(lines.join('\n'));
}

export async function pull(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { weights: { type: 'string' } });
  const { weights = 'stored' } = loadOptions({ weights: values.weights }); // checked as rank and serve check it
  if (values.weights === 'auto' || values.weights === 'stored') throw new UsageError('--weights of pull makes a copy: bf16 or f16');
  if (positionals.length === 0) {
    if (values.weights !== undefined) throw new UsageError('--weights needs a model NAME');
    return list();
  }
  for (const name of positionals) {
    if (!findKnownModel(name)) throw new UsageError(`unknown model "${name}" (known: ${knownModels().map((m) => m.name).join(', ')})`);
  }
  for (const name of positionals) await printOut(await modelWithWeights(await resolveModel(name), weights));
}
