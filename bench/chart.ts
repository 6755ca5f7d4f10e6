// The headline as an SVG bar chart, hand-built (no chart dependency): one panel per workload, each
// on its own scale since pairs/s differ tenfold between workloads.
import { BenchReport, LLAMA_RERANK, find } from './results.js';

const COLORS = { ours: '#2b6cb0', peer: '#dd6b20', ceiling: '#a0aec0', baseline: '#38a169' };
const WIDTH = 760;
const LABEL_W = 200;
const BAR_MAX = 440;
const BAR_H = 18;
const panelHeight = (bars: number) => 30 + bars * (BAR_H + 6) + 12;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function svgChart(r: BenchReport): string {
  const ours = r.engines.find((e) => e.label === LLAMA_RERANK);
  const parts: string[] = [];
  let y = 50;
  for (const h of r.headline) {
    const w = find(ours, h.workload)!;
    const title = r.workloads.find((s) => s.id === h.workload)?.title ?? '';
    // What the raw prompt-processing rate would give if every token of every pair were computed.
    const ceilingPairs = r.ceiling && w.promptTokens ? r.ceiling.tokensPerSec / (w.promptTokens / w.pairs) : undefined;
    const bars: [string, number | undefined, string][] = [
      ['llama-rerank', h.pairsPerSec, COLORS.ours],
      [h.peer?.label ?? 'node-llama-cpp (not run)', h.peer?.pairsPerSec, COLORS.peer],
      ['ceiling (raw pp, no sharing)', ceilingPairs, COLORS.ceiling],
    ];
    const torch = r.baseline?.variants.lastToken?.[h.workload];
    if (r.baseline) bars.push(['PyTorch, last-token logits', torch?.pairsPerSec, COLORS.baseline]);
    const max = Math.max(...bars.map((b) => b[1] ?? 0)) || 1;
    parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(`${h.workload}: ${title}`)}</text>`);
    bars.forEach(([label, value, color], i) => {
      const by = y + 24 + i * (BAR_H + 6);
      const len = value ? (value / max) * BAR_MAX : 0;
      parts.push(
        `<text x="${LABEL_W - 8}" y="${by + 13}" text-anchor="end">${esc(label)}</text>`,
        `<rect x="${LABEL_W}" y="${by}" width="${len.toFixed(1)}" height="${BAR_H}" fill="${color}"/>`,
        `<text x="${LABEL_W + len + 6}" y="${by + 13}">${value === undefined ? '–' : value.toFixed(2)}</text>`,
      );
    });
    y += panelHeight(bars.length);
  }
  const subtitle = `${r.machine.cpu}, ${r.machine.cores} cores, ${r.backend}${r.quick ? ', --quick' : ''} — ${r.model.file}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">llama-rerank benchmark, ${r.date}: pairs/s (higher is better)</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n') + '\n';
}
