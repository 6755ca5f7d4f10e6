// The parts of the GGUF format (ggml's model file) that llama-rerank reads and writes.
export const GGUF_MAGIC = 0x46554747; // "GGUF", little-endian
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

export enum ValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** ggml tensor types this project handles (ids are ggml's). */
export enum TensorType { F32 = 0, F16 = 1, Q8_0 = 8 }

export const QK8_0 = 32;
/** Bytes per block and values per block of each tensor type. */
export const TYPE_LAYOUT: Record<TensorType, { blockBytes: number; blockValues: number }> = {
  [TensorType.F32]: { blockBytes: 4, blockValues: 1 },
  [TensorType.F16]: { blockBytes: 2, blockValues: 1 },
  [TensorType.Q8_0]: { blockBytes: 2 + QK8_0, blockValues: QK8_0 },
};

export function tensorBytes(type: TensorType, nValues: number): number {
  const { blockBytes, blockValues } = TYPE_LAYOUT[type];
  if (nValues % blockValues !== 0) throw new Error(`${nValues} values do not fill ${TensorType[type]} blocks`);
  return (nValues / blockValues) * blockBytes;
}

export type ScalarValue = number | bigint | boolean | string;
/** A typed metadata value: arrays keep the type of their items. */
export type MetaValue =
  | { type: Exclude<ValueType, ValueType.ARRAY>; value: ScalarValue }
  | { type: ValueType.ARRAY; itemType: Exclude<ValueType, ValueType.ARRAY>; value: ScalarValue[] };

export interface TensorInfo {
  name: string;
  /** ggml order: dims[0] is the length of a row. */
  dims: number[];
  type: TensorType;
  /** Offset from the start of the data section. */
  offset: number;
}
