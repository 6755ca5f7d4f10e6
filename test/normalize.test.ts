// lib/normalize.ts: user text as the official tokenizer reads it, before llama.cpp tokenizes it.
import { describe, expect, it } from 'vitest';
import { textNormalizer } from '../lib/normalize.js';

const qwen = textNormalizer({ pre: 'qwen2', userDefined: ['<think>', '</think>', '<tool_call>'] });

describe('textNormalizer', () => {
  it('composes decomposed text to NFC for a Qwen2/Qwen3 vocabulary', () => {
    expect(qwen('cafe\u0301 \u1112\u1161\u11ab \u212b')).toBe('caf\u00e9 \ud55c \u00c5');
  });

  it('leaves the added tokens it matches in text as they are, and normalizes around them', () => {
    // '>' + U+0338 composes to U+226F; the official tokenizer takes <think> out before normalizing
    expect(qwen('e\u0301<think>\u0338</think>e\u0301')).toBe('\u00e9<think>\u0338</think>\u00e9');
    expect(qwen('a>\u0338 <tool_call>\u0323\u0338')).toBe('a\u226f <tool_call>\u0338\u0323');
  });

  it('leaves text alone for a vocabulary whose tokenizer is not known to normalize', () => {
    const other = textNormalizer({ pre: 'llama3', userDefined: [] });
    expect(other('cafe\u0301')).toBe('cafe\u0301');
  });

  it('normalizes without added tokens, and reads token text literally', () => {
    expect(textNormalizer({ pre: 'qwen2', userDefined: [] })('cafe\u0301')).toBe('caf\u00e9');
    const dotted = textNormalizer({ pre: 'qwen2', userDefined: ['<a.b>'] });
    expect(dotted('<a.b>\u0338 <axb>\u0338')).toBe('<a.b>\u0338 <axb\u226f');
  });

  it('normalizes only the part of a text its kept tokens can come from', () => {
    // 10 tokens kept: (10 + 128 read-ahead) tokens of at most 128 UTF-16 units each
    const long = 'e\u0301'.repeat(20_000);
    const clipped = qwen(long, 10);
    expect(clipped).toBe(long.slice(0, 138 * 128).normalize('NFC'));
    expect(qwen('cafe\u0301', 10)).toBe('caf\u00e9');
    expect(textNormalizer({ pre: 'llama3', userDefined: [] })(long, 10)).toBe(long); // native code bounds itself
  });
});
