// `llama-rerank serve`: the HTTP server on a port until SIGTERM or SIGINT, which drain it first.
import { constants as osConstants } from 'node:os';
import { modelDisplayName, resolveModel } from '../model-resolve.js';
import { Reranker } from '../reranker.js';
import { DEFAULT_LIMITS, apiKeyProblem, buildServer } from '../server/app.js';
import { CommandError, LOAD_FLAGS, LOAD_USAGE, UsageError, integerFlag, loadOptions, noPositionals, parse, requireModel } from './args.js';

const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export const SERVE_USAGE = `Usage: llama-rerank serve --model M [--host 127.0.0.1] [--port 8080] [options]

Serves POST /v1/rerank (and /rerank), POST /v2/rerank (Cohere's), GET /v1/models, GET /health,
GET /metrics (Prometheus) and GET /openapi.json.
${LOAD_USAGE}
      --host H            address to listen on (default 127.0.0.1)
      --port P            port (default 8080; 0 picks a free one)
      --body-limit B      largest request body in bytes (default ${DEFAULT_LIMITS.bodyLimit})
      --max-documents N   most documents per request (default ${DEFAULT_LIMITS.maxDocuments})
      --log-level L       JSON-lines log on stdout: ${LOG_LEVELS.join(', ')} (default warn;
                          info logs every request with its id)
      --no-isolate        run the model in this process, not in a child process that a crash
                          can take down without the server (the default)
Environment: LLAMA_RERANK_API_KEY requires \`Authorization: Bearer <key>\` on every route but /health.`;

/** A listen failure in one line: the address and what is wrong with it. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): CommandError {
  const where = `${host}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is already in use (another server? --port picks another)',
    EADDRNOTAVAIL: 'the address is not one of this machine\'s (--host)',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    ENOTFOUND: 'the host name does not resolve (--host)',
    EAI_AGAIN: 'the host name could not be resolved now (--host)',
  };
  return new CommandError(`cannot listen on ${where}: ${why[err.code ?? ''] ?? err.message}`);
}

export async function serve(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...LOAD_FLAGS,
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'body-limit': { type: 'string' },
    'max-documents': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'no-isolate': { type: 'boolean' },
  });
  noPositionals(positionals);
  if (!LOG_LEVELS.includes(values['log-level'])) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const model = requireModel(values);
  const port = integerFlag(values.port, 'port', 0)!;
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  // A native crash costs the requests in that process, never the server (see isolate in the README).
  const options = { ...loadOptions(values), isolate: !values['no-isolate'] };
  const apiKey = process.env.LLAMA_RERANK_API_KEY || undefined;
  const keyProblem = apiKey === undefined ? undefined : apiKeyProblem(apiKey);
  if (keyProblem) throw new UsageError(`LLAMA_RERANK_API_KEY ${keyProblem}`, false);
  // The download and load start once the server listens, and happen behind 503s.
  let startLoading!: () => void;
  const listening = new Promise<void>((resolve) => (startLoading = resolve));
  const server = buildServer({
    reranker: listening.then(() => resolveModel(model)).then((path) => Reranker.load({ ...options, model: path })),
    modelName: modelDisplayName(model),
    apiKey,
    // By default server faults only: one line per request would drown them.
    logger: { level: values['log-level'] },
    limits: {
      bodyLimit: integerFlag(values['body-limit'], 'body-limit'),
      maxDocuments: integerFlag(values['max-documents'], 'max-documents'),
    },
  });
  let address: string;
  try {
    address = await server.app.listen({ host: values.host, port });
  } catch (err) {
    await server.shutdown();
    throw listenError(err as NodeJS.ErrnoException, values.host, port);
  }
  console.error(`llama-rerank: listening on ${address}, loading ${model}`);
  startLoading();

  let stopping = false;
  let loadSettled = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second signal: the user does not want to wait. 128 + the signal's number, as a shell says
    // a process the signal ended (130 for SIGINT, 143 for SIGTERM).
    if (stopping) process.exit(128 + osConstants.signals[signal]);
    stopping = true;
    console.error(`llama-rerank: ${signal}: finishing the requests in flight`);
    void server.shutdown().then(() => {
      console.error('llama-rerank: stopped');
      // A download or load still running cannot be cancelled: leave it (a partial download resumes
      // next time) rather than wait for it.
      if (!loadSettled) process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await server.loaded;
    loadSettled = true;
    if (!stopping) console.error(`llama-rerank: ready (${address})`);
  } catch (err) {
    loadSettled = true;
    if (stopping) return; // stopped while loading: the load's failure no longer matters
    await server.shutdown();
    throw err;
  }
}
