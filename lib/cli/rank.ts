// `llama-rerank rank`: one query against documents from files or stdin, printed as a ranked table
// or as the API's JSON response.
import { resolveModel } from '../model-resolve.js';
import { Reranker } from '../reranker.js';
import type { RerankResponse } from '../types.js';
import { LOAD_FLAGS, LOAD_USAGE, UsageError, checkRequestFlags, integerFlag, loadOptions, parse, requireModel } from './args.js';
import { readDocuments } from './documents.js';
import { escapeControls, printOut } from './output.js';

export const RANK_USAGE = `Usage: llama-rerank rank --model M --query Q [--top-n N] [--json] [FILE ...]

Documents come from the FILEs (or stdin, or "-"): one per line, or JSONL with a "text" field.
${LOAD_USAGE}
  -q, --query Q           the query
  -n, --top-n N           print the N most relevant only
      --instruction I     the task instruction of the prompt
      --json              print the API's JSON response (with the documents' text)`;

/** A table a person reads: rank, score, the document's position in the input, its first line. */
export function formatTable(response: RerankResponse, documents: string[], width = process.stdout.columns || 100): string {
  const rows = response.results.map((r, i) => {
    const head = `${String(i + 1).padStart(4)}  ${r.relevance_score.toFixed(4)}  ${String(r.index).padStart(5)}  `;
    // A document is data: its control characters are shown, never obeyed by the terminal.
    const text = escapeControls(documents[r.index].replace(/\s+/g, ' ').trim());
    const room = Math.max(width - head.length, 20);
    return head + (text.length > room ? `${text.slice(0, room - 1)}…` : text);
  });
  return [`rank  score   index  document`, ...rows].join('\n');
}

export async function rank(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...LOAD_FLAGS,
    query: { type: 'string', short: 'q' },
    'top-n': { type: 'string', short: 'n' },
    instruction: { type: 'string' },
    json: { type: 'boolean' },
  });
  const model = requireModel(values);
  if (values.query === undefined) throw new UsageError('--query is required');
  checkRequestFlags({ query: values.query, instruction: values.instruction });
  const topN = integerFlag(values['top-n'], 'top-n');
  // One request per process: a conversion at load (weights 'auto' on CUDA) would not pay for itself.
  const options = { weights: 'stored' as const, ...loadOptions(values) };
  const documents = await readDocuments(positionals, process.stdin);
  const path = await resolveModel(model);
  await using reranker = await Reranker.load({ ...options, model: path });
  const response = await reranker.rerank({
    query: values.query,
    documents,
    top_n: topN,
    instruction: values.instruction,
    return_documents: values.json === true,
  });
  await printOut(values.json ? JSON.stringify(response, null, 2) : formatTable(response, documents));
}
