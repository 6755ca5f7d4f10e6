// Float conversions of ggml's storage types: F16 and Q8_0 (a float16 scale and 32 int8 values per block).
import { QK8_0 } from './format.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from float, rounding to nearest even (as ggml's GGML_FP32_TO_FP16). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Q8_0 as ggml's reference quantizer writes it: d = max|x| / 127, q = round(x / d). */
export function quantizeQ8_0(src: Float32Array, dst: Uint8Array, dstOffset = 0): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let b = 0; b < src.length / QK8_0; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[base + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const out = dstOffset + b * (2 + QK8_0);
    view.setUint16(out, toHalf(d), true);
    for (let j = 0; j < QK8_0; j++) view.setInt8(out + 2 + j, roundHalfAway(Math.fround(src[base + j] * id)));
  }
}

// C's roundf: halves go away from zero (Math.round sends them up).
const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

export function dequantizeQ8_0(src: Uint8Array, nValues: number): Float32Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Float32Array(nValues);
  for (let b = 0; b < nValues / QK8_0; b++) {
    const at = b * (2 + QK8_0);
    const d = fromHalf(view.getUint16(at, true));
    for (let j = 0; j < QK8_0; j++) out[b * QK8_0 + j] = d * view.getInt8(at + 2 + j);
  }
  return out;
}
