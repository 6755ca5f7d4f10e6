// `llama-rerank serve`: the HTTP server on a port until SIGTERM or SIGINT, which drain it first.
import { modelDisplayName, resolveModel } from '../model-resolve.js';
import { Reranker } from '../reranker.js';
import { DEFAULT_LIMITS, buildServer } from '../server/app.js';
import { LOAD_FLAGS, LOAD_USAGE, UsageError, integerFlag, loadOptions, parse, requireModel } from './args.js';

export const SERVE_USAGE = `Usage: llama-rerank serve --model M [--host 127.0.0.1] [--port 8080] [options]

Serves POST /v1/rerank (and /rerank), GET /v1/models and GET /health.
${LOAD_USAGE}
      --host H            address to listen on (default 127.0.0.1)
      --port P            port (default 8080; 0 picks a free one)
      --body-limit B      largest request body in bytes (default ${DEFAULT_LIMITS.bodyLimit})
      --max-documents N   most documents per request (default ${DEFAULT_LIMITS.maxDocuments})
      --no-isolate        run the model in this process, not in a child process that a crash
                          can take down without the server (the default)
Environment: LLAMA_RERANK_API_KEY requires \`Authorization: Bearer <key>\` on every route but /health.`;

export async function serve(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    ...LOAD_FLAGS,
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'body-limit': { type: 'string' },
    'max-documents': { type: 'string' },
    'no-isolate': { type: 'boolean' },
  });
  const model = requireModel(values);
  const port = integerFlag(values.port, 'port', 0)!;
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  // A native crash costs the requests in that process, never the server (see isolate in the README).
  const options = { ...loadOptions(values), isolate: !values['no-isolate'] };
  const server = buildServer({
    // Listening starts at once; the download and load happen behind 503s.
    reranker: resolveModel(model).then((path) => Reranker.load({ ...options, model: path })),
    modelName: modelDisplayName(model),
    apiKey: process.env.LLAMA_RERANK_API_KEY || undefined,
    // Server faults only: one line per request would drown them.
    logger: { level: 'warn' },
    limits: {
      bodyLimit: integerFlag(values['body-limit'], 'body-limit'),
      maxDocuments: integerFlag(values['max-documents'], 'max-documents'),
    },
  });
  const address = await server.app.listen({ host: values.host, port });
  console.error(`llama-rerank: listening on ${address}, loading ${model}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130); // a second signal: the user does not want to wait
    stopping = true;
    console.error(`llama-rerank: ${signal}: finishing the requests in flight`);
    void server.shutdown().then(() => console.error('llama-rerank: stopped'));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await server.loaded;
    console.error(`llama-rerank: ready (${server.app.listeningOrigin})`);
  } catch (err) {
    await server.shutdown();
    throw err;
  }
}
