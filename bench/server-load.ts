// Load test of the HTTP server: the server in this process on 127.0.0.1 (a free port), autocannon
// in a worker thread posting the hosted API's example for a fixed time from concurrent connections.
// Prints requests/s, latency p50/p99 and errors; exits 1 if any request failed or was not a 2xx.
//   npm run bench:server -- [--duration 10] [--connections 8] [--model path.gguf]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Reranker } from '../lib/index.js';
import { buildServer } from '../lib/server/app.js';
import { packageRoot } from '../models/paths.js';
import { ensureTestModel } from '../test-models/generate.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    model: { type: 'string' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const model = values.model ?? ensureTestModel({ shape: 'tiny', kind: 'rank', seed: 1 });
const example = JSON.parse(readFileSync(join(packageRoot, 'test', 'fixtures', 'hosted-api-example.json'), 'utf8')).request;

const server = buildServer({ reranker: Reranker.load({ model }), modelName: 'bench' });
await server.loaded;
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
const body = JSON.stringify(example);
// The model's first call sets up its compute buffers (about a second): not what the load test measures.
const warm = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
if (warm.status !== 200) throw new Error(`warm-up request failed: ${warm.status} ${await warm.text()}`);
console.log(`server: ${url} (model ${model})`);
console.log(`load: ${connections} connections for ${duration} s, POST /v1/rerank with the hosted example (5 documents)`);

const result = await autocannon({
  url: `${url}/v1/rerank`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
  connections,
  duration,
  // Out of the server's event loop, so the client's work does not count as the server's latency.
  workers: 1,
});
await server.shutdown();

const failed = result.errors + result.timeouts + result.non2xx;
console.log(`requests:  ${result.requests.total} in ${result.duration} s`);
console.log(`req/s:     ${result.requests.average.toFixed(1)} (mean per second)`);
console.log(`latency:   p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
console.log(`errors:    ${result.errors} (timeouts ${result.timeouts}), non-2xx: ${result.non2xx}`);
if (failed > 0) {
  console.error('FAIL: some requests failed');
  process.exitCode = 1;
}
