// Deterministic English-ish texts of a target token count: seeded words from a fixed list, cut to
// the length whose token count (measured with the model's own tokenizer) is closest to the target.
// Real-looking words matter: random bytes would tokenize at several tokens per character.

const WORDS = (
  'the of and to in is that for on with as by at from this are be was it an or which have has not but can ' +
  'more new data model system time people water river city country history science energy market policy ' +
  'research network language computer program student school health medical patient treatment disease study ' +
  'result method analysis process development government economic financial company industry production ' +
  'capital population region climate temperature weather ocean mountain forest animal species plant growth ' +
  'university library museum century ancient modern culture music film author novel question answer search ' +
  'document query passage relevant information retrieval ranking score evidence report article journal ' +
  'between during within without through against around because although however therefore several ' +
  'important different available significant international national local public private general special ' +
  'increase decrease provide require include consider describe explain develop support produce measure'
).split(' ');

/** mulberry32: a small seeded PRNG, so every run writes the same texts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` words in sentences (capitalized, 6–15 words, ending in a period), so prefixes are texts too. */
export function words(rand: () => number, n: number): string[] {
  const out: string[] = [];
  let left = 0;
  for (let i = 0; i < n; i++) {
    let w = WORDS[Math.floor(rand() * WORDS.length)];
    if (left === 0) {
      left = 6 + Math.floor(rand() * 10);
      w = w[0].toUpperCase() + w.slice(1);
    }
    if (--left === 0) w += '.';
    out.push(w);
  }
  return out;
}

export type CountTokens = (text: string) => Promise<number>;

/**
 * The prefix of a seeded word stream whose token count is nearest `target`. Tokens grow
 * monotonically with words (a word is split on its leading space), so a binary search finds it.
 */
export async function textOfTokens(rand: () => number, target: number, count: CountTokens): Promise<string> {
  // At least one token a word, so `target` words always reach the target.
  const stream = words(rand, target);
  const text = (k: number) => stream.slice(0, k).join(' ');
  let lo = 1;
  let hi = stream.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await count(text(mid))) < target) lo = mid + 1;
    else hi = mid;
  }
  // lo is the first prefix at or over the target; the one before may be closer.
  if (lo > 1 && target - (await count(text(lo - 1))) < (await count(text(lo))) - target) return text(lo - 1);
  return text(lo);
}
