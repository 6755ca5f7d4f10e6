// How a scope of routes answers errors: the /v1 routes in the API's { error } shape, /v2 in
// Cohere's. One handler for both, so what every error answer does (drop a refused body, log a
// server fault, ask for a key) is written once and each scope only says its shape.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { keepConnectionAfterRefusedBody } from './body.js';
import { ErrorBody, toErrorResponse } from './errors.js';

/** A scope's answer to an error of ours: its status and its body. */
export type ErrorShape = (request: FastifyRequest, status: number, body: ErrorBody) => [number, unknown];

/** The API's own shape, { error: { message, type, code, param } }. */
export const apiShape: ErrorShape = (_request, status, body) => [status, body];

/** fastify's error handler for a scope answering in `shape`. */
export function errorHandler(shape: ErrorShape) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    keepConnectionAfterRefusedBody(request, reply);
    const [status, body] = toErrorResponse(err);
    if (status >= 500 && status !== 503) request.log.error(err);
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    const [code, answer] = shape(request, status, body);
    return reply.code(code).send(answer);
  };
}
