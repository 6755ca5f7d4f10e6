// The compiled addon and the shape of what crosses into it: one plain object per call.
import { createRequire } from 'node:module';
import { packageRoot } from '../models/paths.js';
import { RerankError } from './errors.js';
import type { DeviceInfo, ModelInfo } from './types.js';

export interface NativeLoadOptions {
  path: string;
  gpu: string;
  gpuLayers?: number;
  threads?: number;
  maxLength: number;
  batchSize: number;
  ubatchSize: number;
  maxSequences: number;
  flashAttention: string;
  kvType: string;
}

/** One request's pairs: they share a query and so their prompt prefix. */
export interface NativeGroup {
  instruction: string;
  query: string;
  documents: string[];
  maxLength: number;
  truncate: boolean;
  sharePrefix: boolean;
}

export interface NativeGroupResult {
  scores: Float64Array;
  pairTokens: number[];
  truncated: boolean[];
  computedTokens: number;
  error?: string;
  errorCode?: 'DOCUMENT_TOO_LONG' | 'DECODE_FAILED';
  errorIndex?: number;
}

export interface NativeReranker {
  score(groups: NativeGroup[]): Promise<NativeGroupResult[]>;
  tokenize(text: string, parseSpecial: boolean): Promise<Int32Array>;
  info(): ModelInfo;
  dispose(): void;
}

export interface NativeModule {
  loadModel(options: NativeLoadOptions): Promise<NativeReranker>;
  listDevices(): DeviceInfo[];
  llamaCppRelease: string;
}

let cached: NativeModule | undefined;

/** The addon: a prebuild for this platform, else the one built from source (node-gyp-build's search). */
export function nativeModule(): NativeModule {
  if (!cached) {
    try {
      const require = createRequire(import.meta.url);
      cached = require('node-gyp-build')(packageRoot) as NativeModule;
    } catch (err) {
      throw new RerankError('NATIVE_UNAVAILABLE',
        `the llama-rerank addon could not be loaded (${(err as Error).message}); build it with \`npm run build:native\``);
    }
  }
  return cached;
}
