// GET /openapi.json: an OpenAPI 3.1 description of the routes as they are registered. Request
// bodies are the very JSON schemas fastify validates with (collected as each route is added), so
// the description cannot drift from what the server accepts; the answers' schemas are in
// answer-schema.ts and cohere.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../models/paths.js';
import { errorBodySchema, rerankResponseSchema } from './answer-schema.js';
import { COHERE_RERANK_ROUTE, cohereErrorSchema, cohereRerankResponseSchema } from './cohere.js';

interface RouteDoc {
  summary: string;
  /** The 200 answer's JSON schema, or its media type when it is not JSON. */
  answer?: object | string;
  error?: object;
}

const V1_RERANK: RouteDoc = { summary: "Rerank documents: the hosted rerank API's request and answer", answer: rerankResponseSchema, error: errorBodySchema };

const ROUTES: Record<string, RouteDoc> = {
  'POST /v1/rerank': V1_RERANK,
  'POST /rerank': V1_RERANK,
  [`POST ${COHERE_RERANK_ROUTE}`]: { summary: "Rerank documents: Cohere's v2 rerank request and answer", answer: cohereRerankResponseSchema, error: cohereErrorSchema },
  'GET /v1/models': { summary: 'The model this server serves', error: errorBodySchema },
  'GET /health': { summary: 'Ready (200) or loading or shutting down (503); needs no API key' },
  'GET /metrics': { summary: "Prometheus' text format", answer: 'text/plain', error: errorBodySchema },
  'GET /openapi.json': { summary: 'This description', error: errorBodySchema },
};

interface Route {
  method: string;
  url: string;
  body?: unknown;
}

function operation(route: Route, auth: boolean) {
  const doc = ROUTES[`${route.method} ${route.url}`] ?? { summary: route.url };
  const answer = typeof doc.answer === 'string' ? { [doc.answer]: { schema: { type: 'string' } } } : { 'application/json': { schema: doc.answer ?? {} } };
  return {
    summary: doc.summary,
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: {
      200: { description: 'OK', content: answer },
      ...(doc.error ? { default: { description: 'An error', content: { 'application/json': { schema: doc.error } } } } : {}),
    },
    ...(auth && route.url !== '/health' ? { security: [{ bearer: [] }] } : {}),
  };
}

/** Collects every route added after this call and serves their description at GET /openapi.json. */
export function registerOpenApi(app: FastifyInstance, { apiKey }: { apiKey: boolean }): void {
  const routes: Route[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, body: route.schema?.body });
    }
  });
  let document: object | undefined;
  app.get('/openapi.json', async () => {
    document ??= describe(routes, apiKey);
    return document;
  });
}

function describe(routes: Route[], auth: boolean): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.url] ??= {})[route.method.toLowerCase()] = operation(route, auth);
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return {
    openapi: '3.1.0',
    info: { title: 'llama-rerank', version },
    paths,
    ...(auth ? { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } } : {}),
  };
}
