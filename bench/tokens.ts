// The token ids of every pair a run sends, written for the PyTorch baseline (bench/baselines/), so
// that both process the same tokens: the official prompt's prefix and suffix (special tokens
// parsed) around the body (parsed as text), as native/prompt.cpp builds a pair.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DEFAULT_INSTRUCTION, Reranker } from '../lib/index.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { RERANK_TEMPLATE } from '../test-models/generate.js';
import type { Workload } from './workloads.js';

/** The shape of the model, read from its GGUF, for a random-weight PyTorch model of the same size. */
export interface ModelShape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ff: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
}

export interface TokenFile {
  model: { file: string; shape: ModelShape; yesId: number; noId: number };
  /** Per workload, per concurrent request, each pair's token ids. */
  workloads: { id: string; title: string; repeats: number; requests: number[][][] }[];
}

// The official template with the request's text left out: what comes before and after the body.
const PREFIX = RERANK_TEMPLATE.slice(0, RERANK_TEMPLATE.indexOf('<Instruct>'));
const SUFFIX = RERANK_TEMPLATE.slice(RERANK_TEMPLATE.indexOf('{document}') + '{document}'.length);

export function modelShape(path: string): ModelShape {
  const g = GgufFile.open(path);
  const arch = String(g.get('general.architecture'));
  const num = (key: string) => Number(g.get(`${arch}.${key}`));
  const heads = num('attention.head_count');
  return {
    layers: num('block_count'), hidden: num('embedding_length'), heads, kvHeads: num('attention.head_count_kv'),
    headDim: Number(g.get(`${arch}.attention.key_length`) ?? num('embedding_length') / heads), ff: num('feed_forward_length'),
    vocab: (g.get('tokenizer.ggml.tokens') as string[]).length, ropeTheta: num('rope.freq_base'),
    rmsEps: num('attention.layer_norm_rms_epsilon'),
  };
}

async function pairTokens(r: Reranker, query: string, document: string, fixed: { prefix: number[]; suffix: number[] }): Promise<number[]> {
  const body = await r.tokenize(`<Instruct>: ${DEFAULT_INSTRUCTION}\n<Query>: ${query}\n<Document>: ${document}`);
  return [...fixed.prefix, ...body, ...fixed.suffix];
}

/**
 * Every pair's tokens. One pair is scored too: its usage must equal its token count, which checks
 * that these are the tokens llama-rerank decodes (the body is never truncated at these sizes).
 */
export async function writeTokens(file: string, model: string, r: Reranker, workloads: Workload[]): Promise<void> {
  const fixed = { prefix: await r.tokenize(PREFIX, { parseSpecial: true }), suffix: await r.tokenize(SUFFIX, { parseSpecial: true }) };
  const out: TokenFile = {
    model: { file: basename(model), shape: modelShape(model), yesId: (await r.tokenize('yes'))[0], noId: (await r.tokenize('no'))[0] },
    workloads: [],
  };
  let shortest: { query: string; document: string; tokens: number } | undefined;
  for (const w of workloads) {
    const requests: number[][][] = [];
    for (const q of w.requests) {
      const pairs: number[][] = [];
      for (const d of q.documents) {
        const ids = await pairTokens(r, q.query, d, fixed);
        pairs.push(ids);
        if (!shortest || ids.length < shortest.tokens) shortest = { query: q.query, document: d, tokens: ids.length };
      }
      requests.push(pairs);
    }
    out.workloads.push({ id: w.id, title: w.title, repeats: w.repeats, requests });
  }
  if (shortest) {
    const used = (await r.rerank({ query: shortest.query, documents: [shortest.document] })).usage.prompt_tokens;
    if (used !== shortest.tokens) throw new Error(`token dump: a pair of ${shortest.tokens} tokens was scored as ${used}; the prompt changed`);
  }
  writeFileSync(file, JSON.stringify(out));
}
