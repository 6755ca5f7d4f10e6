// A copy of a GGUF file with some metadata changed or removed: malformed models for the tests.
import { MetaValue } from './format.js';
import { GgufFile } from './reader.js';
import { writeGguf } from './writer.js';

export function rewriteGguf(src: string, dst: string, change: { set?: Record<string, MetaValue>; drop?: string[] }): void {
  const f = GgufFile.open(src);
  const meta = new Map(f.metadata);
  for (const key of change.drop ?? []) meta.delete(key);
  for (const [key, value] of Object.entries(change.set ?? {})) meta.set(key, value);
  const tensors = [...f.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: () => f.readTensorBytes(t.name) }));
  writeGguf(dst, meta, tensors);
}
