// The project's own Qwen3-Reranker GGUF files: the real tokenizer, seeded random weights.
// "tiny" (F32) is for tests, "tiny-k" too (wide enough for every quantization); "0.6b" has the real Qwen3-Reranker-0.6B shape (Q8_0) for benchmarks:
// the same compute as the real model, scores that mean nothing.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { MetaValue, TensorType, ValueType, tensorBytes } from './gguf/format.js';
import { quantizeQ8_0 } from './gguf/quantize.js';
import { TensorSpec, writeGguf } from './gguf/writer.js';
import { generatedModelsDir } from './paths.js';
import { NO_TOKEN_ID, YES_TOKEN_ID, qwen3TokenizerMetadata, vocabSize } from './qwen3-vocab.js';

export interface Qwen3Shape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  ropeTheta: number;
  rmsEps: number;
  contextLength: number;
  /** Storage type of the 2-D weights; norms are always F32. */
  weightType: TensorType;
}

export const SHAPES = {
  tiny: { nLayer: 2, nEmbd: 64, nHead: 4, nHeadKv: 2, headDim: 16, nFf: 128, ropeTheta: 1e6, rmsEps: 1e-6,
    contextLength: 40960, weightType: TensorType.F32 },
  // tiny at the K-quants' width: Q4_K packs a row in 256-weight super-blocks, and llama.cpp's
  // quantizer gives a narrower row another type. For the weight-type tests.
  'tiny-k': { nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, headDim: 64, nFf: 512, ropeTheta: 1e6, rmsEps: 1e-6,
    contextLength: 40960, weightType: TensorType.F32 },
  '0.6b': { nLayer: 28, nEmbd: 1024, nHead: 16, nHeadKv: 8, headDim: 128, nFf: 3072, ropeTheta: 1e6, rmsEps: 1e-6,
    contextLength: 40960, weightType: TensorType.Q8_0 },
} satisfies Record<string, Qwen3Shape>;
export type ShapeName = keyof typeof SHAPES;

/** "rank": as llama.cpp's converter writes a Qwen3-Reranker; "causal": a plain causal-LM conversion. */
export type ModelKind = 'rank' | 'causal';

export interface TestModelSpec {
  shape: ShapeName;
  kind: ModelKind;
  seed: number;
  /** For refusal tests: other classifier labels than ["yes", "no"]. */
  labels?: string[];
  /** For refusal tests: another general.architecture than qwen3 (keys stay qwen3.*). */
  architecture?: string;
}

/** The rerank template llama.cpp's converter writes (conversion/qwen.py). */
export const RERANK_TEMPLATE =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
  'Note that the answer can only be "yes" or "no".<|im_end|>\n' +
  '<|im_start|>user\n<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n' +
  '<Query>: {query}\n<Document>: {document}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';

// Seeds are derived per tensor row, so a row has the same values whoever asks for it: that is how
// the rank kind's cls.output rows equal the yes/no rows of the causal kind's embedding.
function hashSeed(seed: number, name: string, row: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ row, 0x9e3779b1);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Uniform values of a given std dev (mulberry32 stream). */
function fillRow(out: Float32Array, offset: number, n: number, seed: number, std: number, mean = 0): void {
  let a = seed;
  const scale = std * Math.sqrt(3) * 2;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[offset + i] = mean + (u - 0.5) * scale;
  }
}

interface WeightDef {
  name: string;
  dims: number[];
  std: number;
  mean?: number;
  /** Norm weights stay F32 as llama.cpp requires. */
  norm?: boolean;
}

function weightDefs(s: Qwen3Shape): WeightDef[] {
  const q = s.nHead * s.headDim;
  const kv = s.nHeadKv * s.headDim;
  const norm = (name: string, n: number): WeightDef => ({ name, dims: [n], std: 0.05, mean: 1, norm: true });
  const defs: WeightDef[] = [
    // Std chosen so the yes-no logit gap spreads over a few units: scores across (0, 1), not saturated.
    { name: 'token_embd.weight', dims: [s.nEmbd, 0], std: 1.2 / Math.sqrt(s.nEmbd) },
  ];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}.`;
    defs.push(
      norm(`${b}attn_norm.weight`, s.nEmbd),
      { name: `${b}attn_q.weight`, dims: [s.nEmbd, q], std: 1 / Math.sqrt(s.nEmbd) },
      { name: `${b}attn_k.weight`, dims: [s.nEmbd, kv], std: 1 / Math.sqrt(s.nEmbd) },
      { name: `${b}attn_v.weight`, dims: [s.nEmbd, kv], std: 1 / Math.sqrt(s.nEmbd) },
      norm(`${b}attn_q_norm.weight`, s.headDim),
      norm(`${b}attn_k_norm.weight`, s.headDim),
      { name: `${b}attn_output.weight`, dims: [q, s.nEmbd], std: 0.5 / Math.sqrt(q) },
      norm(`${b}ffn_norm.weight`, s.nEmbd),
      { name: `${b}ffn_gate.weight`, dims: [s.nEmbd, s.nFf], std: 1 / Math.sqrt(s.nEmbd) },
      { name: `${b}ffn_up.weight`, dims: [s.nEmbd, s.nFf], std: 1 / Math.sqrt(s.nEmbd) },
      { name: `${b}ffn_down.weight`, dims: [s.nFf, s.nEmbd], std: 0.5 / Math.sqrt(s.nFf) },
    );
  }
  defs.push(norm('output_norm.weight', s.nEmbd));
  return defs;
}

/** Rows `rows` of a weight (ggml order: a row is dims[0] values), as float32. */
function weightRows(def: WeightDef, seed: number, rows: number[]): Float32Array {
  const n = def.dims[0];
  const out = new Float32Array(n * rows.length);
  rows.forEach((r, i) => fillRow(out, i * n, n, hashSeed(seed, def.name, r), def.std, def.mean));
  return out;
}

function encode(values: Float32Array, type: TensorType): Uint8Array {
  if (type === TensorType.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (type !== TensorType.Q8_0) throw new Error(`test models store F32 or Q8_0, not ${TensorType[type]}`);
  const out = new Uint8Array(tensorBytes(type, values.length));
  quantizeQ8_0(values, out);
  return out;
}

function tensorSpec(def: WeightDef, seed: number, type: TensorType, rows?: number[]): TensorSpec {
  const nRows = rows?.length ?? def.dims[1] ?? 1;
  const storage = def.norm ? TensorType.F32 : type;
  const dims = def.dims.length === 1 ? def.dims : [def.dims[0], nRows];
  return {
    name: def.name, dims, type: storage,
    data: () => encode(weightRows(def, seed, rows ?? Array.from({ length: nRows }, (_, i) => i)), storage),
  };
}

export function generateTestModel(spec: TestModelSpec, path: string): void {
  const shape: Qwen3Shape = SHAPES[spec.shape];
  const tokenizer = qwen3TokenizerMetadata();
  const nVocab = vocabSize(tokenizer);
  const meta = new Map<string, MetaValue>();
  const u32 = (value: number): MetaValue => ({ type: ValueType.UINT32, value });
  const f32 = (value: number): MetaValue => ({ type: ValueType.FLOAT32, value });
  const str = (value: string): MetaValue => ({ type: ValueType.STRING, value });
  meta.set('general.architecture', str(spec.architecture ?? 'qwen3'));
  meta.set('general.name', str(`llama-rerank test ${spec.shape} ${spec.kind} seed ${spec.seed}`));
  meta.set('general.file_type', u32(shape.weightType === TensorType.Q8_0 ? 7 : 0));
  meta.set('qwen3.block_count', u32(shape.nLayer));
  meta.set('qwen3.context_length', u32(shape.contextLength));
  meta.set('qwen3.embedding_length', u32(shape.nEmbd));
  meta.set('qwen3.feed_forward_length', u32(shape.nFf));
  meta.set('qwen3.attention.head_count', u32(shape.nHead));
  meta.set('qwen3.attention.head_count_kv', u32(shape.nHeadKv));
  meta.set('qwen3.attention.key_length', u32(shape.headDim));
  meta.set('qwen3.attention.value_length', u32(shape.headDim));
  meta.set('qwen3.rope.freq_base', f32(shape.ropeTheta));
  meta.set('qwen3.attention.layer_norm_rms_epsilon', f32(shape.rmsEps));
  if (spec.kind === 'rank') {
    meta.set('qwen3.pooling_type', u32(4)); // LLAMA_POOLING_TYPE_RANK
    meta.set('qwen3.classifier.output_labels', { type: ValueType.ARRAY, itemType: ValueType.STRING, value: spec.labels ?? ['yes', 'no'] });
  }
  for (const [k, v] of tokenizer) meta.set(k, v);
  if (spec.kind === 'rank') meta.set('tokenizer.chat_template.rerank', str(RERANK_TEMPLATE));

  const defs = weightDefs(shape);
  defs[0].dims[1] = nVocab;
  const tensors = defs.map((d) => tensorSpec(d, spec.seed, shape.weightType));
  if (spec.kind === 'rank') {
    const embd = { ...defs[0], name: 'token_embd.weight' };
    const cls = tensorSpec(embd, spec.seed, shape.weightType, [YES_TOKEN_ID, NO_TOKEN_ID]);
    tensors.push({ ...cls, name: 'cls.output.weight' });
  }
  writeGguf(path, meta, tensors);
}

/** Raised when what a generated model holds changes, so that no stale file in the folder is reused. */
const GENERATOR_REVISION = 2;

export function testModelName(spec: TestModelSpec): string {
  return `qwen3-reranker-${spec.shape}-${spec.kind}-seed${spec.seed}-r${GENERATOR_REVISION}.gguf`;
}

/** The path of a generated test model, written on first use (atomically, so parallel runs are safe). */
export function ensureTestModel(spec: TestModelSpec, dir = generatedModelsDir): string {
  const path = join(dir, testModelName(spec));
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  generateTestModel(spec, tmp);
  renameSync(tmp, path);
  return path;
}
