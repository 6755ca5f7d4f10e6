// The HTTP server: the hosted rerank API (POST /v1/rerank) over one loaded Reranker, on fastify.
// buildServer() only builds it, so tests drive it with fastify's inject() and the CLI and the load
// test listen on a port.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { RerankError } from '../errors.js';
import type { Reranker } from '../reranker.js';
import type { RerankRequest, RerankResponse } from '../types.js';
import { readBodiesAsJson } from './body.js';
import { clientErrorHandler } from './client-errors.js';
import { COHERE_RERANK_ROUTE, registerCohereRoutes } from './cohere.js';
import { clientGoneSignal, onSettled } from './connection.js';
import { apiShape, errorHandler } from './error-replies.js';
import { HttpError, errorBody } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { notFoundHandler } from './methods.js';
import { registerOpenApi } from './openapi.js';
import { AJV_OPTIONS, rerankBodySchema } from './schema.js';
import { timeoutOptions } from './timeouts.js';

export interface ServerLimits {
  /** Largest request body in bytes (413 beyond). */
  bodyLimit: number;
  /** Most documents in one request (422 beyond). */
  maxDocuments: number;
  /** How long shutdown() waits for requests in flight before cutting their connections. */
  shutdownTimeoutMs: number;
  /** A client must send a request's headers within this time (408 and the connection closed beyond). */
  headersTimeoutMs: number;
  /** ...and the whole request, body included, within this time. Computing the answer is not bounded. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyLimit: 8 * 1024 * 1024,
  maxDocuments: 1000,
  shutdownTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
};

export interface ServerOptions {
  /** The model, or its load in progress: until it settles the server answers 503. */
  reranker: Reranker | Promise<Reranker>;
  /** The id GET /v1/models reports. */
  modelName: string;
  limits?: Partial<ServerLimits>;
  /** When set, every route but /health requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Dispose the reranker when the server shuts down (default true). */
  disposeOnShutdown?: boolean;
  /** fastify's logger (pino) options; default none. Errors answered with a 500 are logged at level error. */
  logger?: FastifyServerOptions['logger'];
}

/** The routes that run the model: 503 until it is loaded and once shutdown begins. */
const HOSTED_RERANK_ROUTES = ['/v1/rerank', '/rerank'];
const RERANK_ROUTES = [...HOSTED_RERANK_ROUTES, COHERE_RERANK_ROUTE];

export type ServerState = 'loading' | 'ready' | 'failed' | 'closing' | 'closed';

export interface RerankServer {
  app: FastifyInstance;
  /** GET /metrics' registry (prom-client). */
  metrics: ServerMetrics;
  readonly state: ServerState;
  /** Settles with the model's load: rejects when it failed. */
  readonly loaded: Promise<void>;
  /** Refuses new requests (503), lets those in flight finish, then closes and frees the model. */
  shutdown(): Promise<void>;
}

/** Why a key could never be presented as `Bearer <key>` (one run of visible ASCII), or undefined. */
export function apiKeyProblem(apiKey: string): string | undefined {
  if (/^[\x21-\x7e]+$/.test(apiKey)) return undefined;
  return 'must be visible ASCII characters without spaces (a Bearer token): no client could send it';
}

/** Compares the presented key in constant time: both sides are hashed to the same length first. */
function bearerCheck(apiKey: string): (header: string | undefined) => boolean {
  const problem = apiKeyProblem(apiKey);
  if (problem) throw new RerankError('INVALID_OPTIONS', `apiKey: ${problem}`, 'apiKey');
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = digest(apiKey);
  return (header) => {
    const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '');
    return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
  };
}

const unavailable: Record<Exclude<ServerState, 'ready'>, [string, string]> = {
  loading: ['LOADING', 'the model is loading'],
  failed: ['MODEL_LOAD_FAILED', 'the model failed to load'],
  closing: ['SHUTTING_DOWN', 'the server is shutting down'],
  closed: ['SHUTTING_DOWN', 'the server is shut down'],
};

export function buildServer(options: ServerOptions): RerankServer {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(options.limits ?? {})) if (value !== undefined) limits[key as keyof ServerLimits] = value;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // 503 during shutdown is ours, in the API's error shape, not fastify's.
    return503OnClosing: false,
    ajv: { customOptions: AJV_OPTIONS },
    // Request logs' reqId; also the `id` of /v2/rerank's answers.
    genReqId: () => randomUUID(),
    ...timeoutOptions(limits.headersTimeoutMs, limits.requestTimeoutMs),
    clientErrorHandler,
  });
  registerOpenApi(app, { apiKey: Boolean(options.apiKey) });
  // A client that shuts only its sending side still reads its answers (see connection.ts).
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const notFound = notFoundHandler(app);
  let state: ServerState = 'loading';
  let reranker: Reranker | undefined;
  let loadError: Error | undefined;
  // Model requests accepted and not yet answered: shutdown waits for them.
  let active = 0;
  const idleWaiters: (() => void)[] = [];
  const untilIdle = () => (active === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r)));
  const authorized = options.apiKey ? bearerCheck(options.apiKey) : undefined;
  const metrics = new ServerMetrics(() => active);
  metrics.attach(app);
  const started = performance.now();

  const loaded = Promise.resolve(options.reranker).then(
    (r) => {
      reranker = r;
      metrics.modelReady(r, options.modelName, (performance.now() - started) / 1000);
      if (state === 'loading') state = 'ready';
      else if (options.disposeOnShutdown !== false) r.dispose(); // loaded after shutdown began
    },
    (err: Error) => {
      loadError = err;
      if (state === 'loading') state = 'failed';
      throw err;
    },
  );
  loaded.catch(() => {}); // reported through state and /health; the caller may await `loaded`

  const notReady = () => {
    const [code, message] = unavailable[state as Exclude<ServerState, 'ready'>];
    return new HttpError(503, code, loadError && state === 'failed' ? `${message}: ${loadError.message}` : message);
  };

  // isolate: the model's child process died and a new one is loading it; clients should retry.
  const restarting = () => new HttpError(503, 'BACKEND_RESTARTING', "the model's process is restarting after a crash");

  readBodiesAsJson(app);

  app.addHook('onRequest', async (request, reply) => {
    if (authorized && request.routeOptions.url !== '/health' && !authorized(request.headers.authorization)) {
      throw new HttpError(401, 'UNAUTHORIZED', 'a valid `Authorization: Bearer <key>` header is required');
    }
    if (!RERANK_ROUTES.includes(request.routeOptions.url ?? '')) return;
    if (state !== 'ready') throw notReady();
    if (reranker!.restarting) throw restarting();
    active++;
    onSettled(request.raw, reply.raw, () => {
      if (--active === 0) for (const wake of idleWaiters.splice(0)) wake();
    });
  });

  app.addHook('onSend', async (_request, reply) => {
    // Keep-alive clients must reconnect elsewhere, not hold on to a server going away.
    if (state === 'closing') reply.header('connection', 'close');
  });

  app.setErrorHandler(errorHandler(apiShape));

  app.setNotFoundHandler(notFound);

  app.get('/health', async (_request, reply) => {
    if (state === 'ready' && !reranker!.restarting) return { status: 'ok', model: options.modelName };
    const err = state === 'ready' ? restarting() : notReady();
    return reply.code(503).send({ status: state === 'ready' ? 'restarting' : state, ...errorBody(503, err.code, err.message) });
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: options.modelName, object: 'model', created: 0, owned_by: 'llama-rerank' }],
  }));

  /** Every rerank route's one path to the model. */
  // A client that hangs up drops its request from the queue instead of leaving work behind.
  const clientGone = (reply: FastifyReply) => clientGoneSignal(reply.request.raw, reply.raw);
  const score = async (reply: FastifyReply, body: RerankRequest, signal = clientGone(reply)): Promise<RerankResponse> =>
    metrics.rerank(reranker!, { ...body, signal });
  const rerankRoute = (request: FastifyRequest, reply: FastifyReply) => score(reply, request.body as RerankRequest);
  for (const url of HOSTED_RERANK_ROUTES) app.post(url, { schema: { body: rerankBodySchema(limits.maxDocuments) } }, rerankRoute);
  registerCohereRoutes(app, {
    maxDocuments: limits.maxDocuments,
    clientGone,
    score,
    truncate: (text, maxTokens, signal) => reranker!.truncate(text, maxTokens, { signal }),
  });

  let closed: Promise<void> | undefined;
  const shutdown = () => {
    closed ??= (async () => {
      state = 'closing';
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        untilIdle().then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limits.shutdownTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) app.server.closeAllConnections();
      await app.close();
      if (options.disposeOnShutdown !== false) reranker?.dispose();
      state = 'closed';
    })();
    return closed;
  };

  return {
    app,
    metrics,
    get state() {
      return state;
    },
    loaded,
    shutdown,
  };
}
