// A streaming GGUF writer: the header first, then each tensor's bytes as they are produced,
// so a model of any size is written without holding it in memory.
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, MetaValue, ScalarValue, TensorType, ValueType, tensorBytes,
} from './format.js';

export interface TensorSpec {
  name: string;
  dims: number[];
  type: TensorType;
  /** Called once, when the tensor is written: its bytes in the storage type. */
  data: () => Uint8Array;
}

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: number | bigint): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  string(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  scalar(type: ValueType, v: ScalarValue): void {
    const b = Buffer.alloc(8);
    switch (type) {
      case ValueType.STRING: return this.string(v as string);
      case ValueType.UINT8: b.writeUInt8(Number(v)); return this.push(b.subarray(0, 1));
      case ValueType.INT8: b.writeInt8(Number(v)); return this.push(b.subarray(0, 1));
      case ValueType.BOOL: b.writeUInt8(v ? 1 : 0); return this.push(b.subarray(0, 1));
      case ValueType.UINT16: b.writeUInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case ValueType.INT16: b.writeInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case ValueType.UINT32: b.writeUInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case ValueType.INT32: b.writeInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case ValueType.FLOAT32: b.writeFloatLE(Number(v)); return this.push(b.subarray(0, 4));
      case ValueType.UINT64: b.writeBigUInt64LE(BigInt(v as number | bigint)); return this.push(b);
      case ValueType.INT64: b.writeBigInt64LE(BigInt(v as number | bigint)); return this.push(b);
      case ValueType.FLOAT64: b.writeDoubleLE(Number(v)); return this.push(b);
      default: throw new Error(`cannot write value type ${type}`);
    }
  }
  bytes(): Buffer { return Buffer.concat(this.chunks); }
}

export function writeGguf(path: string, metadata: Map<string, MetaValue>, tensors: TensorSpec[]): void {
  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [key, meta] of metadata) {
    head.string(key);
    head.u32(meta.type);
    if (meta.type === ValueType.ARRAY) {
      head.u32(meta.itemType);
      head.u64(meta.value.length);
      for (const item of meta.value) head.scalar(meta.itemType, item);
    } else {
      head.scalar(meta.type, meta.value);
    }
  }
  const align = (n: number) => Math.ceil(n / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    head.string(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    const size = tensorBytes(t.type, t.dims.reduce((a, b) => a * b, 1));
    sizes.push(size);
    offset = align(offset + size);
  }

  const fd = openSync(path, 'w');
  try {
    const header = head.bytes();
    writeSync(fd, header);
    writeSync(fd, Buffer.alloc(align(header.length) - header.length));
    tensors.forEach((t, i) => {
      const data = t.data();
      if (data.length !== sizes[i]) throw new Error(`tensor ${t.name}: ${data.length} bytes, expected ${sizes[i]}`);
      writeSync(fd, data);
      writeSync(fd, Buffer.alloc(align(data.length) - data.length));
    });
  } finally {
    closeSync(fd);
  }
}
