// GET /metrics: the server in Prometheus' text format (prom-client), one registry per server.
// Requests are counted and timed as they are answered; the model's totals that live in the
// reranker (worker restarts) are read when Prometheus scrapes.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelInfo, RerankRequest, RerankResponse, RerankStats } from '../types.js';

/** What the metrics read from the loaded model. `restarts` comes with worker isolation. */
export interface MetricsModel {
  readonly info: ModelInfo;
  readonly stats: RerankStats & { restarts?: number };
}

/**
 * A model that says when its scheduler starts on a request, which is where queue wait ends. A
 * Reranker whose rerank() takes no such second argument still fits; its queue wait goes unrecorded.
 */
export interface ReportsStart {
  rerank(request: RerankRequest, hooks?: { onStart?: () => void }): Promise<RerankResponse>;
}

/** Seconds: a small request on a GPU to a large one on a CPU. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

type ModelLabels = { backend: string; device: string };

export class ServerMetrics {
  readonly registry = new Registry();
  private model: MetricsModel | undefined;
  private labels: ModelLabels = { backend: 'none', device: 'none' };

  private readonly requests = new Counter({
    name: 'llama_rerank_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'llama_rerank_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by route',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly documents = new Counter({
    name: 'llama_rerank_documents_total',
    help: 'Documents scored',
    labelNames: ['backend', 'device'],
    registers: [this.registry],
  });
  private readonly promptTokens = new Counter({
    name: 'llama_rerank_prompt_tokens_total',
    help: 'Tokens of every pair scored (usage.prompt_tokens)',
    labelNames: ['backend', 'device'],
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'llama_rerank_queue_wait_seconds',
    help: 'Time a scoring request waited before the model started on it',
    labelNames: ['backend', 'device'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly loadSeconds = new Gauge({
    name: 'llama_rerank_model_load_seconds',
    help: 'Seconds from server start until the model was ready (its download included)',
    labelNames: ['backend', 'device'],
    registers: [this.registry],
  });
  private readonly modelInfo = new Gauge({
    name: 'llama_rerank_model_info',
    help: 'The model served: 1, with its name, kind, backend and device as labels',
    labelNames: ['model', 'kind', 'backend', 'device'],
    registers: [this.registry],
  });

  constructor(inFlight: () => number) {
    const metrics = this;
    new Gauge({
      name: 'llama_rerank_requests_in_flight',
      help: 'Scoring requests accepted and not yet answered (queued or being scored)',
      registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
    new Counter({
      name: 'llama_rerank_worker_restarts_total',
      help: 'Times the model worker was restarted after a crash',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(metrics.model?.stats.restarts ?? 0);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts and times every answer, and serves GET /metrics. */
  attach(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      // The route's pattern, never the raw URL: unknown URLs must not grow the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      this.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      this.duration.observe({ route }, reply.elapsedTime / 1000);
    });
    app.get('/metrics', async (_request, reply) => reply.type(this.registry.contentType).send(await this.registry.metrics()));
  }

  modelReady(model: MetricsModel, modelName: string, loadSeconds: number): void {
    this.model = model;
    const { info } = model;
    this.labels = { backend: info.backend, device: info.devices.join(',') || info.backend };
    this.loadSeconds.set(this.labels, loadSeconds);
    this.modelInfo.set({ model: modelName, kind: info.kind, ...this.labels }, 1);
  }

  /** Scores through the model, recording the queue wait when it reports its start. */
  async rerank(model: ReportsStart, request: RerankRequest): Promise<RerankResponse> {
    const accepted = performance.now();
    const onStart = () => this.queueWait.observe(this.labels, (performance.now() - accepted) / 1000);
    const response = await model.rerank(request, { onStart });
    this.documents.inc(this.labels, request.documents.length);
    this.promptTokens.inc(this.labels, response.usage.prompt_tokens);
    return response;
  }
}
