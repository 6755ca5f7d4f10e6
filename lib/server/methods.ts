// 405 for a known path with the wrong method, with the `Allow` header clients expect, instead of a
// 404 that suggests the path does not exist. The methods come from the routes as they are added.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorShape, apiShape } from './error-replies.js';
import { errorBody } from './errors.js';

/**
 * The not-found handler of `app` (a scope): 405 with `Allow` for a known path, 404 otherwise, in the
 * scope's error shape. Call before adding routes.
 */
export function notFoundHandler(app: FastifyInstance, shape: ErrorShape = apiShape): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const byPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = byPath.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    byPath.set(route.url, methods);
  });
  const answer = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    const [shaped, body] = shape(request, status, errorBody(status, code, message));
    return reply.code(shaped).send(body);
  };
  return (request, reply) => {
    const path = request.url.split('?')[0];
    const allow = [...(byPath.get(path) ?? [])].sort();
    if (allow.length === 0) return answer(request, reply, 404, 'NOT_FOUND', `no route for ${request.method} ${request.url}`);
    reply.header('allow', allow.join(', '));
    return answer(request, reply, 405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path} (allowed: ${allow.join(', ')})`);
  };
}
