// Rewrites a run's markdown table and chart from its JSON, so that a change to the report's form
// does not need a new 20-minute run:  node dist/bench/render.js bench/results/<date>-<backend>.json
import { readFileSync, writeFileSync } from 'node:fs';
import { svgChart } from './chart.js';
import { markdown } from './report.js';
import type { BenchReport } from './results.js';

const file = process.argv[2];
if (!file?.endsWith('.json')) throw new Error('usage: node dist/bench/render.js bench/results/<run>.json');
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
const stem = file.slice(0, -'.json'.length);
writeFileSync(`${stem}.md`, markdown(report));
writeFileSync(`${stem}.svg`, svgChart(report));
console.log(markdown(report));
