// The official Hugging Face tokenizer of a Qwen2/Qwen3 GGUF, rebuilt from the file's own vocabulary
// and run by Hugging Face's tokenizers library (its Rust core, through the `tokenizers` npm package):
// an independent reference for the tokens llama.cpp gives us.
//
// Only the vocabulary, merges and added tokens come from the GGUF; the pipeline around them is the
// one Qwen publishes in the tokenizer.json of Qwen2 and Qwen3 models (and transformers' Qwen2Tokenizer
// builds): NFC normalization, the Qwen2 split regex (isolated matches), byte-level mapping without a
// prefix space, byte-level BPE. test/tokenizer-corpus.test.ts checks it on llama.cpp's test vectors,
// which Hugging Face's tokenizer made.
import { Tokenizer } from 'tokenizers';
import type { MetaValue } from '../../test-models/gguf/format.js';

/** llama_token_type values in tokenizer.ggml.token_type. */
const NORMAL = 1;
const CONTROL = 3;
const USER_DEFINED = 4;

/** The pre-tokenizer regex of Qwen2/Qwen3's tokenizer.json, as Qwen publishes it. */
const QWEN2_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: false, use_regex: false };

export interface ReferenceOptions {
  /**
   * 'parsed': control tokens (<|im_end|>...) in text become those tokens, as the official tokenizer
   * does by default. 'text': they stay text, as llama-rerank tokenizes a query or document.
   * User-defined tokens (<think>, <tool_call>) are matched in text either way, as both tokenizers do.
   * Which tokens are control is the GGUF's word: llama.cpp's converter also makes control the
   * <|...|> tokens Qwen does not flag special (<|fim_prefix|>, <|repo_name|>, <|file_sep|>), so
   * with 'text' those stay text too, where transformers' split_special_tokens=True would match them.
   */
  controlTokens: 'parsed' | 'text';
}

/** The tokenizer.json of a GGUF's Qwen2-style vocabulary (its tokenizer.* metadata). */
export function qwen2TokenizerJson(meta: Map<string, MetaValue>, { controlTokens }: ReferenceOptions): object {
  const tokens = meta.get('tokenizer.ggml.tokens')?.value as string[] | undefined;
  const types = meta.get('tokenizer.ggml.token_type')?.value as number[] | undefined;
  const merges = meta.get('tokenizer.ggml.merges')?.value as string[] | undefined;
  const pre = meta.get('tokenizer.ggml.pre')?.value;
  if (!tokens || !types || !merges) throw new Error('the GGUF has no BPE vocabulary');
  if (meta.get('tokenizer.ggml.model')?.value !== 'gpt2' || pre !== 'qwen2') {
    throw new Error(`not a Qwen2-style vocabulary (pre-tokenizer ${String(pre)})`);
  }
  const vocab: Record<string, number> = {};
  const added: object[] = [];
  tokens.forEach((content, id) => {
    const type = types[id];
    // Padding rows of the embedding ([PAD151669]...: UNUSED) are no tokens of the official tokenizer.
    if (type !== NORMAL && type !== CONTROL && type !== USER_DEFINED) return;
    // Every token is in the BPE vocabulary, so that each keeps its id: the library numbers added
    // tokens it does not find there from the vocabulary's end, whatever ids the JSON gives. No merge
    // leads to an added token, so BPE never produces one from text.
    vocab[content] = id;
    if (type === USER_DEFINED || (type === CONTROL && controlTokens === 'parsed')) {
      added.push({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === CONTROL,
      });
    }
  });
  const addedTexts = new Set(tokens.filter((_, id) => types[id] === CONTROL || types[id] === USER_DEFINED));
  if (merges.some((m) => addedTexts.has(m.replace(' ', '')))) throw new Error('a merge makes an added token');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', ...BYTE_LEVEL },
      ],
    },
    post_processor: { type: 'ByteLevel', ...BYTE_LEVEL },
    decoder: { type: 'ByteLevel', ...BYTE_LEVEL },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Hugging Face's tokenizer for the vocabulary, ready to encode. */
export function qwen2Reference(meta: Map<string, MetaValue>, options: ReferenceOptions): QwenReference {
  const tokenizer = Tokenizer.fromString(JSON.stringify(qwen2TokenizerJson(meta, options)));
  return {
    async encode(text: string): Promise<number[]> {
      return (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
    },
    decode(ids: number[]): Promise<string> {
      return tokenizer.decode(ids, false);
    },
  };
}

export interface QwenReference {
  encode(text: string): Promise<number[]>;
  /** The tokens' text; a character they hold only part of is U+FFFD (Rust's from_utf8_lossy). */
  decode(ids: number[]): Promise<string>;
}
