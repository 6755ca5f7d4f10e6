// What crosses the pipe between an isolated Reranker and its child process. Calls are forwarded by
// method name, so a method added to NativeReranker needs no new message, only its one-line
// forwarder in child-reranker.ts. Node's "advanced" IPC serialization (V8's structured clone)
// carries typed arrays as they are: a Float64Array of scores arrives bit for bit.
import type { NativeReranker } from '../native.js';
import type { ValidLoadOptions } from '../validate.js';

/** NativeReranker's methods the child runs; info() is answered from the load, dispose() ends the child. */
export type RemoteMethod = Exclude<keyof NativeReranker, 'info' | 'dispose'>;

/** The first call of every child: its result is the model's ModelInfo. */
export interface LoadCall {
  id: 0;
  method: 'load';
  args: [ValidLoadOptions];
}

export interface MethodCall {
  id: number;
  method: RemoteMethod;
  args: unknown[];
}

export type Call = LoadCall | MethodCall;

/** A failure, with what a RerankError or a coded native error carries. */
export interface WireError {
  message: string;
  code?: string;
  field?: string;
  rerank?: boolean;
}

export type Reply = { id: number; result: unknown; error?: undefined } | { id: number; error: WireError };
