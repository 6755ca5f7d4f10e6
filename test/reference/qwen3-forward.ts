// An independent Qwen3 forward pass in plain TypeScript, float64 throughout, written from the
// architecture (RMSNorm, NEOX RoPE, grouped-query attention with per-head q/k norms, SwiGLU)
// rather than from llama.cpp. Slow on purpose-built clarity; meant for the tiny test model only.
import { GgufFile } from '../../test-models/gguf/reader.js';

interface Weights {
  nLayer: number; nEmbd: number; nHead: number; nHeadKv: number; headDim: number; nFf: number;
  ropeTheta: number; eps: number;
  tensor(name: string): Float32Array;
}

function loadWeights(path: string): Weights {
  const f = GgufFile.open(path);
  const num = (k: string) => Number(f.get(`qwen3.${k}`));
  const cache = new Map<string, Float32Array>();
  return {
    nLayer: num('block_count'), nEmbd: num('embedding_length'), nHead: num('attention.head_count'),
    nHeadKv: num('attention.head_count_kv'), headDim: num('attention.key_length'), nFf: num('feed_forward_length'),
    ropeTheta: num('rope.freq_base'), eps: num('attention.layer_norm_rms_epsilon'),
    tensor(name) {
      if (!cache.has(name)) cache.set(name, f.readTensor(name));
      return cache.get(name)!;
    },
  };
}

function rmsNorm(x: Float64Array, w: Float32Array, eps: number, offset = 0, n = x.length): Float64Array {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[offset + i] ** 2;
  const scale = 1 / Math.sqrt(ss / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[offset + i] * scale * w[i];
  return out;
}

/** y = W x for a ggml [cols, rows] weight: row r is W[r*cols .. (r+1)*cols). */
function matVec(w: Float32Array, x: Float64Array, rows: number): Float64Array {
  const cols = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

/** NEOX rotation: dimension i pairs with i + d/2. */
function rope(v: Float64Array, offset: number, d: number, pos: number, theta: number): void {
  const half = d / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * theta ** (-(2 * i) / d);
    const c = Math.cos(angle), s = Math.sin(angle);
    const a = v[offset + i], b = v[offset + i + half];
    v[offset + i] = a * c - b * s;
    v[offset + i + half] = a * s + b * c;
  }
}

/** The final normed hidden state of the last token. */
export function lastHiddenState(path: string, tokens: number[]): Float64Array {
  const m = loadWeights(path);
  const { nEmbd, nHead, nHeadKv, headDim: hd } = m;
  const embd = m.tensor('token_embd.weight');
  let xs = tokens.map((t) => Float64Array.from(embd.subarray(t * nEmbd, (t + 1) * nEmbd)));
  for (let l = 0; l < m.nLayer; l++) {
    const w = (n: string) => m.tensor(`blk.${l}.${n}.weight`);
    const ks: Float64Array[] = [], vs: Float64Array[] = [], qs: Float64Array[] = [];
    xs.forEach((x, pos) => {
      const xn = rmsNorm(x, w('attn_norm'), m.eps);
      const q = matVec(w('attn_q'), xn, nHead * hd);
      const k = matVec(w('attn_k'), xn, nHeadKv * hd);
      const v = matVec(w('attn_v'), xn, nHeadKv * hd);
      for (let h = 0; h < nHead; h++) {
        q.set(rmsNorm(q, w('attn_q_norm'), m.eps, h * hd, hd), h * hd);
        rope(q, h * hd, hd, pos, m.ropeTheta);
      }
      for (let h = 0; h < nHeadKv; h++) {
        k.set(rmsNorm(k, w('attn_k_norm'), m.eps, h * hd, hd), h * hd);
        rope(k, h * hd, hd, pos, m.ropeTheta);
      }
      qs.push(q); ks.push(k); vs.push(v);
    });
    xs = xs.map((x, pos) => {
      const attn = new Float64Array(nHead * hd);
      for (let h = 0; h < nHead; h++) {
        const kvh = Math.floor(h / (nHead / nHeadKv));
        const scores = new Float64Array(pos + 1);
        for (let j = 0; j <= pos; j++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += qs[pos][h * hd + i] * ks[j][kvh * hd + i];
          scores[j] = s / Math.sqrt(hd);
        }
        const max = Math.max(...scores);
        let sum = 0;
        for (let j = 0; j <= pos; j++) sum += (scores[j] = Math.exp(scores[j] - max));
        for (let j = 0; j <= pos; j++) {
          for (let i = 0; i < hd; i++) attn[h * hd + i] += (scores[j] / sum) * vs[j][kvh * hd + i];
        }
      }
      const o = matVec(w('attn_output'), attn, nEmbd);
      const h1 = x.map((v, i) => v + o[i]);
      const hn = rmsNorm(h1, w('ffn_norm'), m.eps);
      const g = matVec(w('ffn_gate'), hn, m.nFf);
      const u = matVec(w('ffn_up'), hn, m.nFf);
      const act = g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]);
      const d = matVec(w('ffn_down'), act, nEmbd);
      return h1.map((v, i) => v + d[i]);
    });
  }
  return rmsNorm(xs[xs.length - 1], m.tensor('output_norm.weight'), m.eps);
}

/** p(yes) from two head rows (the tied embedding's "yes"/"no" rows, or cls.output's). */
export function pYes(hidden: Float64Array, yesRow: ArrayLike<number>, noRow: ArrayLike<number>): number {
  let yes = 0, no = 0;
  for (let i = 0; i < hidden.length; i++) {
    yes += hidden[i] * yesRow[i];
    no += hidden[i] * noRow[i];
  }
  return 1 / (1 + Math.exp(no - yes));
}
