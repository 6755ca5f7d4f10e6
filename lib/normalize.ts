// User text as the model's official tokenizer sees it before splitting it into tokens.
//
// Qwen's tokenizer (the tokenizer.json of every Qwen2 and Qwen3 model, and transformers'
// Qwen2Tokenizer) normalizes text to Unicode NFC; llama.cpp's tokenizer does not normalize. Without
// this, text with decomposed accents (macOS file names, PDFs, some web pages: "e" + U+0301 for "é"),
// conjoining Hangul jamo or singletons (U+212B ANGSTROM SIGN, U+2000 EN QUAD) gets other tokens than
// the official ones, and another score.
//
// Which official tokenizer a GGUF's vocabulary is, its tokenizer.ggml.pre tells: llama.cpp's
// converter sets it from a hash of the Hugging Face tokenizer's output, "qwen2" for the Qwen2, Qwen2.5
// and Qwen3 tokenizers, every Qwen3-Reranker conversion included. Other vocabularies are left as
// they are, since we do not know what their tokenizer does.
//
// The official tokenizer takes its added tokens (<think>, <tool_call>...) out of the text before
// normalizing, so those stay as they are here too: "<think>" + U+0338 must not become "<think≯".
// The instruction, query and each document are normalized apart while the official tokenizer
// normalizes the prompt as one string; that gives the same text, since each field follows a space and
// is followed by "\n", and neither composes with nor reorders around anything.

/** tokenizer.ggml.pre values whose official tokenizer normalizes to NFC. */
const NFC_PRE_TOKENIZERS = new Set(['qwen2']);

/**
 * `maxTokens`: at most this many of the text's tokens are used, so what lies past any text they
 * could come from is dropped before normalizing (a 300 MB document is not normalized whole).
 */
export type TextNormalizer = (text: string, maxTokens?: number) => string;

/**
 * UTF-16 units the longest token of the Qwen2 vocabulary covers: 128 bytes (a run of spaces), and
 * byte-level BPE never has fewer bytes than UTF-16 units. Native code reads 64 tokens past those it
 * keeps to be sure of them (native/prompt.cpp), so the cut leaves room for twice that.
 */
const QWEN2_MAX_TOKEN_UNITS = 128;
const READ_AHEAD_TOKENS = 128;

function clip(text: string, maxTokens: number | undefined): string {
  if (maxTokens === undefined) return text;
  const units = (maxTokens + READ_AHEAD_TOKENS) * QWEN2_MAX_TOKEN_UNITS;
  return text.length <= units ? text : text.slice(0, units);
}

export interface TokenizerDescription {
  /** The GGUF's tokenizer.ggml.pre. */
  pre: string;
  /** Added tokens the tokenizer matches in text, which are not normalized. */
  userDefined: readonly string[];
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What to do to user text before this model's tokenizer reads it. */
export function textNormalizer({ pre, userDefined }: TokenizerDescription): TextNormalizer {
  if (!NFC_PRE_TOKENIZERS.has(pre)) return (text) => text;
  if (userDefined.length === 0) return (text, maxTokens) => clip(text, maxTokens).normalize('NFC');
  // Longest first: the leftmost longest token, as Hugging Face's tokenizers matches them.
  const tokens = [...userDefined].sort((a, b) => b.length - a.length).map(escape);
  const split = new RegExp(`(${tokens.join('|')})`);
  return (text, maxTokens) => {
    // split() with a capture group: the text between tokens at even indices, the tokens at odd ones
    const parts = clip(text, maxTokens).split(split);
    for (let i = 0; i < parts.length; i += 2) parts[i] = parts[i].normalize('NFC');
    return parts.join('');
  };
}
