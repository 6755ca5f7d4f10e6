// A GGUF reader: metadata and tensor directory from the header, tensor data on request.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import {
  DEFAULT_ALIGNMENT, GGUF_MAGIC, MetaValue, TensorInfo, TensorType, ValueType, tensorBytes,
} from './format.js';
import { dequantizeQ8_0, fromHalf } from './quantize.js';

class Cursor {
  private view: DataView;
  pos = 0;
  constructor(private buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('GGUF header ends early');
  }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('GGUF count out of range');
    return Number(v);
  }
  string(): string {
    const n = this.u64();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type: ValueType): number | bigint | boolean | string {
    const v = this.view;
    const sizes: Partial<Record<ValueType, number>> = {
      [ValueType.UINT8]: 1, [ValueType.INT8]: 1, [ValueType.UINT16]: 2, [ValueType.INT16]: 2,
      [ValueType.UINT32]: 4, [ValueType.INT32]: 4, [ValueType.FLOAT32]: 4, [ValueType.BOOL]: 1,
      [ValueType.UINT64]: 8, [ValueType.INT64]: 8, [ValueType.FLOAT64]: 8,
    };
    if (type === ValueType.STRING) return this.string();
    const size = sizes[type];
    if (size === undefined) throw new RangeError(`unknown GGUF value type ${type}`);
    this.need(size);
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case ValueType.UINT8: return v.getUint8(p);
      case ValueType.INT8: return v.getInt8(p);
      case ValueType.UINT16: return v.getUint16(p, true);
      case ValueType.INT16: return v.getInt16(p, true);
      case ValueType.UINT32: return v.getUint32(p, true);
      case ValueType.INT32: return v.getInt32(p, true);
      case ValueType.FLOAT32: return v.getFloat32(p, true);
      case ValueType.BOOL: return v.getUint8(p) !== 0;
      case ValueType.UINT64: return v.getBigUint64(p, true);
      case ValueType.INT64: return v.getBigInt64(p, true);
      default: return v.getFloat64(p, true);
    }
  }
}

export class GgufFile {
  readonly metadata = new Map<string, MetaValue>();
  readonly tensors = new Map<string, TensorInfo>();
  private dataStart = 0;

  private constructor(readonly path: string) {}

  /** Reads the header; the header of a large model fits in the first few MB (its vocabulary). */
  static open(path: string): GgufFile {
    const file = new GgufFile(path);
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      let want = Math.min(size, 16 << 20);
      for (;;) {
        const buf = Buffer.alloc(want);
        readSync(fd, buf, 0, want, 0);
        try {
          file.parse(buf);
          return file;
        } catch (err) {
          if (!(err instanceof RangeError) || want >= size) throw err;
          want = Math.min(size, want * 4);
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  private parse(buf: Buffer): void {
    this.metadata.clear();
    this.tensors.clear();
    const c = new Cursor(buf);
    if (c.u32() !== GGUF_MAGIC) throw new Error(`${this.path} is not a GGUF file`);
    c.u32(); // version
    const nTensors = c.u64();
    const nKv = c.u64();
    for (let i = 0; i < nKv; i++) {
      const key = c.string();
      const type = c.u32() as ValueType;
      if (type === ValueType.ARRAY) {
        const itemType = c.u32() as Exclude<ValueType, ValueType.ARRAY>;
        const n = c.u64();
        const value = new Array(n);
        for (let j = 0; j < n; j++) value[j] = c.scalar(itemType);
        this.metadata.set(key, { type, itemType, value });
      } else {
        this.metadata.set(key, { type, value: c.scalar(type) } as MetaValue);
      }
    }
    for (let i = 0; i < nTensors; i++) {
      const name = c.string();
      const nDims = c.u32();
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(c.u64());
      const type = c.u32() as TensorType;
      const offset = c.u64();
      this.tensors.set(name, { name, dims, type, offset });
    }
    const alignment = Number(this.get('general.alignment') ?? DEFAULT_ALIGNMENT);
    this.dataStart = Math.ceil(c.pos / alignment) * alignment;
  }

  /** A metadata value (arrays as arrays), or undefined. */
  get(key: string): MetaValue['value'] | undefined {
    return this.metadata.get(key)?.value;
  }

  /** A tensor's bytes as stored. */
  readTensorBytes(name: string): Buffer {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`tensor ${name} not in ${this.path}`);
    const bytes = Buffer.alloc(tensorBytes(info.type, info.dims.reduce((a, b) => a * b, 1)));
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, this.dataStart + info.offset);
    } finally {
      closeSync(fd);
    }
    return bytes;
  }

  /** A tensor's values as float32, whatever its storage type. */
  readTensor(name: string): Float32Array {
    const info = this.tensors.get(name)!;
    const bytes = this.readTensorBytes(name);
    const n = info.dims.reduce((a, b) => a * b, 1);
    switch (info.type) {
      case TensorType.F32:
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      case TensorType.F16: {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = fromHalf(bytes.readUInt16LE(i * 2));
        return out;
      }
      case TensorType.Q8_0:
        return dequantizeQ8_0(bytes, n);
      default:
        throw new Error(`tensor ${name} has type ${info.type}, which this reader does not decode`);
    }
  }
}
