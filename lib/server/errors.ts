// Every error the server sends has one JSON shape, { error: { message, type, code, param } }, the
// one OpenAI-style clients already parse; this file decides its status and fields.
import type { FastifyError } from 'fastify';
import { RerankError, RerankErrorCode } from '../errors.js';
import { ANY_OF_MESSAGES } from './schema.js';

export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly param: string | null = null) {
    super(message);
  }
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  431: 'invalid_request_error',
  499: 'client_closed_request',
  503: 'service_unavailable_error',
};

/** A library failure's HTTP status: the client's fault (4xx) or the server's (5xx). */
const RERANK_STATUS: Record<RerankErrorCode, number> = {
  INVALID_REQUEST: 422,
  DOCUMENT_TOO_LONG: 422,
  QUERY_TOO_LONG: 422,
  MODEL_NOT_FOUND: 404,
  DISPOSED: 503,
  // The server aborts a request only when its client has left (connection.ts): nginx's 499, which
  // a client that only half-closed its connection still reads.
  ABORTED: 499,
  INVALID_OPTIONS: 500,
  MODEL_LOAD_FAILED: 500,
  DOWNLOAD_FAILED: 500,
  NATIVE_UNAVAILABLE: 500,
  DECODE_FAILED: 500,
  // The model's child process died; a new one is loading, so a retry is what the client should do.
  BACKEND_CRASHED: 503,
  TOKENIZE_FAILED: 500,
};

export function errorBody(status: number, code: string, message: string, param: string | null = null): ErrorBody {
  return { error: { message, type: TYPES[status] ?? 'server_error', code, param } };
}

/** "/documents/3/text" (a JSON pointer, as schema validation reports it) → "documents[3].text". */
function fieldOf(instancePath: string, missing?: unknown): string | null {
  const parts = instancePath.split('/').filter(Boolean);
  if (typeof missing === 'string') parts.push(missing);
  const field = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return field || null;
}

type ValidationError = NonNullable<FastifyError['validation']>[number];

/** Ajv's message, in words a client of the hosted API reads more easily where they differ. */
function describe(e: ValidationError | undefined): string {
  if (!e) return 'is invalid';
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'minLength' || e.keyword === 'minItems') return 'must not be empty';
  if (e.keyword === 'maxItems') return `must have at most ${e.params.limit} items (the server's limit)`;
  if (e.keyword === 'anyOf') return ANY_OF_MESSAGES[e.schemaPath] ?? 'is invalid';
  return e.message ?? 'is invalid';
}

/** Fastify's own errors (schema validation, body parsing, limits) and ours, as [status, body]. */
export function toErrorResponse(err: FastifyError | RerankError | HttpError | Error): [number, ErrorBody] {
  if (err instanceof HttpError) return [err.status, errorBody(err.status, err.code, err.message, err.param)];
  if (err instanceof RerankError) {
    const status = RERANK_STATUS[err.code] ?? 500;
    return [status, errorBody(status, err.code, err.message, err.field ?? null)];
  }
  const f = err as FastifyError;
  if (f.validation) {
    // Of several errors (the branches of an anyOf) the last is the one about the field as a whole,
    // unless one is an unknown field: that names exactly what the client sent wrong.
    const last = f.validation.find((e) => e.keyword === 'additionalProperties') ?? f.validation[f.validation.length - 1];
    const param = fieldOf(last?.instancePath ?? '', last?.params?.missingProperty ?? last?.params?.additionalProperty);
    return [422, errorBody(422, 'INVALID_REQUEST', `${param ?? 'body'}: ${describe(last)}`, param)];
  }
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return [413, errorBody(413, 'BODY_TOO_LARGE', f.message)];
  if (f.statusCode && f.statusCode >= 400 && f.statusCode < 500) {
    return [f.statusCode, errorBody(f.statusCode, f.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST', f.message)];
  }
  return [500, errorBody(500, 'INTERNAL', 'internal server error')];
}
