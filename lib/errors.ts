/** Why a call failed; stable strings callers can switch on. */
export type RerankErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_OPTIONS'
  | 'DOCUMENT_TOO_LONG'
  | 'QUERY_TOO_LONG'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_LOAD_FAILED'
  | 'DOWNLOAD_FAILED'
  | 'NATIVE_UNAVAILABLE'
  | 'DECODE_FAILED'
  /** The model's child process (isolate: true) died with the request in it. */
  | 'BACKEND_CRASHED'
  | 'TOKENIZE_FAILED'
  | 'DISPOSED'
  | 'ABORTED';

/** Codes that always concern one field: the field when none is given. */
const FIELD_OF: Partial<Record<RerankErrorCode, string>> = { QUERY_TOO_LONG: 'query' };

export class RerankError extends Error {
  override name = 'RerankError';
  /** The request field at fault, e.g. "documents[3]". */
  readonly field?: string;
  constructor(
    readonly code: RerankErrorCode,
    message: string,
    field?: string,
  ) {
    super(message);
    this.field = field ?? FIELD_OF[code];
  }
}

/** An abort, shaped like the DOMException fetch() throws, with our code too. */
export class RerankAbortError extends RerankError {
  override name = 'AbortError';
  constructor(reason?: unknown) {
    super('ABORTED', reason instanceof Error ? `aborted: ${reason.message}` : 'the request was aborted');
  }
}
