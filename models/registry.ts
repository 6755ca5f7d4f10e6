// The Qwen3-Reranker GGUF files llama-rerank knows by name, so that `model: "qwen/qwen3-reranker-0.6b"`
// works as it does with the hosted APIs. Only what could be traced to a public source is filled in:
// a null sha256 means the download is not verified (and says so), a null repo means no download is
// known and the file must be converted and placed in the cache by hand.

export interface KnownModel {
  /** The hosted APIs' name, lower case; requests may use any case. */
  name: string;
  /** Other names accepted for it (compared case-insensitively). */
  aliases: string[];
  /** The GGUF file's name, in its repository and in the cache. */
  file: string;
  /** The Hugging Face repository holding `file`, or null where no GGUF download is known. */
  repo: string | null;
  /** Hex SHA-256 of `file`, or null where it is not known (the download is then not verified). */
  sha256: string | null;
  /** Rough size in bytes, for messages only (the server's Content-Length is what is checked). */
  approxBytes: number;
  /** Where the entry comes from: what a reader needs to trust it or not. */
  source: string;
}

export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    name: 'qwen/qwen3-reranker-0.6b',
    aliases: ['qwen3-reranker-0.6b', 'Qwen/Qwen3-Reranker-0.6B'],
    file: 'qwen3-reranker-0.6b-q8_0.gguf',
    repo: 'ggml-org/Qwen3-Reranker-0.6B-Q8_0-GGUF',
    // Two unrelated public projects pin this file to the same digest (one as hex, one as a Nix hash).
    sha256: '22c9979ce4fbcdc5acdc310c6641c32797eff1aa980b8f7a2db8a8ea23429a48',
    approxBytes: 639e6,
    source: "ggml-org's Q8_0 rank conversion (llama.cpp's convert_hf_to_gguf.py)",
  },
  {
    name: 'qwen/qwen3-reranker-4b',
    aliases: ['qwen3-reranker-4b', 'Qwen/Qwen3-Reranker-4B'],
    file: 'Qwen3-Reranker-4B-Q8_0.gguf',
    repo: 'sinjab/Qwen3-Reranker-4B-Q8_0-GGUF',
    // From one public model catalog only; not checked against the file from this project.
    sha256: '143f21b1cba67d328d32dd69daa282d79cb4c1e95398251caa7e48813ec98451',
    approxBytes: 4.28e9,
    source: 'a community Q8_0 conversion (no official GGUF of the 4B reranker is known)',
  },
  {
    name: 'qwen/qwen3-reranker-8b',
    aliases: ['qwen3-reranker-8b', 'Qwen/Qwen3-Reranker-8B'],
    file: 'Qwen3-Reranker-8B-Q8_0.gguf',
    repo: null,
    sha256: null,
    approxBytes: 8.05e9,
    source: 'no trusted GGUF download is known: convert Qwen/Qwen3-Reranker-8B with convert_hf_to_gguf.py',
  },
];

/** Models added at run time (registerModel), looked up before the built-in ones. */
const registered: KnownModel[] = [];

/** Adds a model (or replaces one of the same name), e.g. an in-house conversion on a mirror. */
export function registerModel(model: KnownModel): void {
  const at = registered.findIndex((m) => m.name === model.name.toLowerCase());
  const entry = { ...model, name: model.name.toLowerCase() };
  if (at >= 0) registered[at] = entry;
  else registered.push(entry);
}

export function knownModels(): KnownModel[] {
  const names = new Set(registered.map((m) => m.name));
  return [...registered, ...KNOWN_MODELS.filter((m) => !names.has(m.name))];
}

/** The known model a name refers to (its name or an alias, any case), if any. */
export function findKnownModel(name: string): KnownModel | undefined {
  const wanted = name.trim().toLowerCase();
  return knownModels().find((m) => m.name === wanted || m.aliases.some((a) => a.toLowerCase() === wanted));
}
