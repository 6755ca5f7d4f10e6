// Seeded random text for tokenizer tests: the pieces BPE and Qwen2's pre-tokenizer treat apart
// (words, contractions, digits, punctuation, whitespace runs and newlines, CJK, emoji sequences,
// combining marks, control-token text), mixed at random.

/** mulberry32: a small seeded generator, so a failure can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['the', 'Capital', 'PARIS', "don't", "it's", "WE'LL", 'naïve', 'café', 'Größe', 'Привет', 'مرحبا', 'שלום', 'x'];
const PUNCT = ['.', ',', '!?', '...', '—', '"', "'", '(', ')', '<|im_end|>', '<think>', '::', '$$$', '#'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '❤️', '🧑‍💻', '\u{1F600}\u{1F601}\u{1F602}'];

export function randomText(next: () => number, pieces: number): string {
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(a: T[]) => a[int(a.length)];
  const cjk = () => Array.from({ length: 1 + int(12) }, () => String.fromCodePoint(0x4e00 + int(0x5000))).join('');
  const kana = () => Array.from({ length: 1 + int(8) }, () => String.fromCodePoint(0x3041 + int(80))).join('');
  const spaces = () => ' '.repeat(1 + int(next() < 0.2 ? 3000 : 8));
  const whitespace = () => pick([spaces(), '\t', '\n', '\r\n', '\n\n\n', ' \n ', '  \t\n', '\u3000', '\u00a0'.repeat(1 + int(4))]);
  const makers = [
    () => pick(WORDS),
    () => pick(WORDS).repeat(1 + int(next() < 0.1 ? 400 : 2)),
    () => String(int(10 ** (1 + int(8)))),
    () => pick(PUNCT),
    whitespace,
    whitespace,
    cjk,
    kana,
    () => pick(EMOJI),
    () => `e\u0301${pick(WORDS)}\u0308`,
  ];
  let s = '';
  for (let i = 0; i < pieces; i++) s += pick(makers)() + (next() < 0.5 ? ' ' : '');
  return s;
}
