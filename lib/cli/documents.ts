// The documents of `llama-rerank rank`: from files or stdin, one per line, or JSONL with a `text`
// field (recognised by its first line being such an object).
import { readFile } from 'node:fs/promises';
import { UsageError } from './args.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function jsonText(line: string): string | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string') {
      return (value as { text: string }).text;
    }
  } catch {
    // not JSON: a plain line
  }
  return undefined;
}

/** The documents in one file's text; blank lines are skipped. `source` names it in errors. */
export function parseDocuments(text: string, source: string): string[] {
  // A byte order mark (Windows editors write one) is not part of the first document or its JSON.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split(/\r?\n/).map((line, i) => ({ line, number: i + 1 })).filter((l) => l.line.trim() !== '');
  if (lines.length === 0 || jsonText(lines[0].line) === undefined) return lines.map((l) => l.line);
  return lines.map(({ line, number }) => {
    const doc = jsonText(line);
    if (doc === undefined) throw new UsageError(`${source}:${number}: expected a JSON object with a string "text" (the file is JSONL)`, false);
    return doc;
  });
}

/** Every document of the files in order; "-" or no file at all reads stdin. */
export async function readDocuments(files: string[], stdin: NodeJS.ReadStream): Promise<string[]> {
  if (files.length === 0 && stdin.isTTY) throw new UsageError('no documents: give FILEs or pipe them on stdin');
  const docs: string[] = [];
  for (const file of files.length ? files : ['-']) {
    let text: string;
    try {
      text = file === '-' ? await readAll(stdin) : await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, false);
    }
    // not push(...): a spread of a file's hundreds of thousands of lines overflows the call stack
    for (const doc of parseDocuments(text, file === '-' ? 'stdin' : file)) docs.push(doc);
  }
  if (docs.length === 0) throw new UsageError('no documents: the input is empty', false);
  return docs;
}
