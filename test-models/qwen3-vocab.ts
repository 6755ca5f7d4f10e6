// The Qwen3 tokenizer as a real Qwen3 GGUF carries it, built from llama.cpp's Qwen2 vocabulary file:
// the same BPE and merges, plus Qwen3's added tokens at 151646-151668, eos <|im_end|> and no BOS.
// Token types as llama.cpp's convert_hf_to_gguf.py writes them: an added token is CONTROL when Qwen
// flags it special or it looks like <|...|> (so the FIM tokens are), USER_DEFINED otherwise
// (<think>, <tool_call>); the embedding's padding rows [PAD151669]... are UNUSED, no tokens at all
// (the old Qwen2 test file marks them USER_DEFINED, which would match them in text).
import { MetaValue, ValueType } from './gguf/format.js';
import { GgufFile } from './gguf/reader.js';
import { qwen2VocabPath } from './paths.js';

/** llama_token_type values. */
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;

const QWEN3_ADDED_TOKENS: [string, number][] = [
  '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>', '<|quad_start|>', '<|quad_end|>',
  '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
  '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>',
  '<|repo_name|>', '<|file_sep|>', '<tool_response>', '</tool_response>', '<think>', '</think>',
].map((t): [string, number] => [t, t.startsWith('<|') && t.endsWith('|>') ? CONTROL : USER_DEFINED]);
const FIRST_ADDED_ID = 151646;
export const IM_END_ID = 151645;
export const YES_TOKEN_ID = 9693;
export const NO_TOKEN_ID = 2152;

/** The tokenizer.* metadata of a Qwen3 GGUF. */
export function qwen3TokenizerMetadata(): Map<string, MetaValue> {
  const vocab = GgufFile.open(qwen2VocabPath);
  const out = new Map<string, MetaValue>();
  for (const [key, value] of vocab.metadata) {
    if (key.startsWith('tokenizer.') && key !== 'tokenizer.chat_template') out.set(key, value);
  }
  const tokens = out.get('tokenizer.ggml.tokens');
  const types = out.get('tokenizer.ggml.token_type');
  if (tokens?.type !== ValueType.ARRAY || types?.type !== ValueType.ARRAY) throw new Error('vocab has no token list');
  const tokenList = [...tokens.value];
  const typeList = [...types.value];
  QWEN3_ADDED_TOKENS.forEach(([text, type], i) => {
    tokenList[FIRST_ADDED_ID + i] = text;
    typeList[FIRST_ADDED_ID + i] = type;
  });
  for (let id = FIRST_ADDED_ID + QWEN3_ADDED_TOKENS.length; id < typeList.length; id++) typeList[id] = UNUSED;
  if (tokenList[YES_TOKEN_ID] !== 'yes' || tokenList[NO_TOKEN_ID] !== 'no') throw new Error('unexpected Qwen2 vocabulary');
  out.set('tokenizer.ggml.tokens', { ...tokens, value: tokenList });
  out.set('tokenizer.ggml.token_type', { ...types, value: typeList });
  out.set('tokenizer.ggml.eos_token_id', { type: ValueType.UINT32, value: IM_END_ID });
  out.set('tokenizer.ggml.add_bos_token', { type: ValueType.BOOL, value: false });
  return out;
}

export function vocabSize(meta: Map<string, MetaValue>): number {
  return (meta.get('tokenizer.ggml.tokens')!.value as string[]).length;
}
