// Reading the profilers' CSV reports (bench/profile.ts): GPU time per kernel.

export interface Kernel { name: string; calls: number; ns: number }

/** A CSV line's fields (quoted fields may hold commas and doubled quotes). */
export function fields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') cur += line[++i];
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur.replace(/\r$/, ''));
  return out;
}

// ncu names its units in full (nsecond) or short (ns, us: the first GPU run's ncu, whose short "us"
// was once read as nanoseconds and gave every kernel 0.0 ms).
const UNIT_NS: Record<string, number> = {
  nsecond: 1, ns: 1, usecond: 1e3, us: 1e3, 'µs': 1e3, msecond: 1e6, ms: 1e6, second: 1e9, s: 1e9,
};

/**
 * Kernels by name from `ncu --import R --csv --page raw --metrics gpu__time_duration.sum`: a header
 * row, a row of units, then a row per kernel launch.
 */
export function ncuKernelTimes(csv: string): Kernel[] {
  const lines = csv.split('\n').filter((l) => l.startsWith('"'));
  const head = fields(lines[0] ?? '');
  const [name, time] = ['Kernel Name', 'gpu__time_duration.sum'].map((h) => head.indexOf(h));
  if (name < 0 || time < 0) throw new Error(`ncu: unexpected columns ${head.join(', ')}`);
  const unitName = fields(lines[1] ?? '')[time];
  const unit = UNIT_NS[unitName];
  if (unit === undefined) throw new Error(`ncu: unknown time unit "${unitName}"`);
  const byName = new Map<string, Kernel>();
  for (const f of lines.slice(2).map(fields)) {
    const k = byName.get(f[name]) ?? { name: f[name], calls: 0, ns: 0 };
    k.calls++;
    k.ns += Number(f[time].replace(/,/g, '')) * unit;
    byName.set(f[name], k);
  }
  return [...byName.values()];
}
