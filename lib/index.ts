export { Reranker } from './reranker.js';
export { rerank, unloadAll } from './rerank.js';
export { RerankError, RerankAbortError } from './errors.js';
export type { RerankErrorCode } from './errors.js';
export { DEFAULT_INSTRUCTION, DEFAULT_MAX_LENGTH } from './validate.js';
export { getDevices, getBackends } from './devices.js';
export type { BackendReport, BackendLibrary } from './backends.js';
export type * from './types.js';
