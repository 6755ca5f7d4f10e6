// The child process of an isolated Reranker: loads the addon and one model, and answers the
// parent's calls by method name (protocol.ts). It holds nothing else: validation, the scheduler
// and the responses stay in the parent. It ends when the parent disconnects (dispose, or the
// parent's death), once the native work in flight is done.
import { RerankError } from '../errors.js';
import { loadNative } from '../load-native.js';
import type { NativeReranker } from '../native.js';
import type { Call, Reply, WireError } from './protocol.js';

let model: Promise<NativeReranker> | undefined;

function toWire(err: unknown): WireError {
  const e = err as Error & { code?: string; field?: string };
  return { message: e.message ?? String(err), code: e.code, field: e.field, rerank: err instanceof RerankError };
}

async function run(call: Call): Promise<unknown> {
  if (call.method === 'load') {
    model = loadNative(call.args[0]);
    return (await model).info();
  }
  if (!model) throw new Error(`${call.method} before load`);
  const native = await model;
  return (native[call.method] as (...args: unknown[]) => unknown).apply(native, call.args);
}

function reply(message: Reply): void {
  if (process.connected) process.send!(message); // disconnected: the parent wants no more answers
}

process.on('message', (call: Call) => {
  run(call).then(
    (result) => reply({ id: call.id, result }),
    (err) => reply({ id: call.id, error: toWire(err) }),
  );
});

// Ctrl-C in a terminal and a service manager's SIGTERM reach every process of the group or cgroup;
// the parent decides when this one ends (after draining its requests), by disconnecting.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

process.on('disconnect', () => {
  // The model is freed once its work in flight is done; then nothing keeps this process alive.
  void model?.then((native) => native.dispose(), () => {});
});
