// Rewrites a run's markdown table and chart from its JSON, so that a change to the report's form
// does not need a new 20-minute run:  node dist/bench/render.js bench/results/<date>-<backend>.json
// With `--baseline FILE` it first adds the PyTorch baseline's output (bench/baselines/) to the JSON,
// for a baseline run after the bench, and writes the notes again.
import { readFileSync, writeFileSync } from 'node:fs';
import { svgChart } from './chart.js';
import { notes } from './notes.js';
import { markdown } from './report.js';
import type { Baseline, BenchReport } from './results.js';

const [file, flag, baselineFile] = process.argv.slice(2);
if (!file?.endsWith('.json') || (flag !== undefined && (flag !== '--baseline' || !baselineFile))) {
  throw new Error('usage: node dist/bench/render.js bench/results/<run>.json [--baseline torch.json]');
}
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
const stem = file.slice(0, -'.json'.length);
if (baselineFile) {
  report.baseline = JSON.parse(readFileSync(baselineFile, 'utf8')) as Baseline;
  report.notes = notes(report);
  writeFileSync(file, JSON.stringify(report, null, 1) + '\n');
}
writeFileSync(`${stem}.md`, markdown(report));
writeFileSync(`${stem}.svg`, svgChart(report));
console.log(markdown(report));
