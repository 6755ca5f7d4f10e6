// `llama-rerank doctor`: what this machine offers llama-rerank, and what it will use.
import { getBackends } from '../devices.js';
import { nativeModule } from '../native.js';
import { noPositionals, parse } from './args.js';
import { printOut } from './output.js';

export const DOCTOR_USAGE = `Usage: llama-rerank doctor [--json]

Lists the addon in use, the GPU backend libraries found (each probed in a child process), the
devices, and the backend models load onto by default, with the reason.
Environment: LLAMA_RERANK_GPU (force cpu, cuda, vulkan or metal), LLAMA_RERANK_BACKEND_PATH.`;

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

export async function doctor(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  noPositionals(positionals);
  const report = getBackends();
  if (values.json) return printOut(JSON.stringify({ llamaCpp: nativeModule().llamaCppRelease, ...report }, null, 2));
  const lines = [
    `addon:     ${report.addon}`,
    `llama.cpp: ${nativeModule().llamaCppRelease}`,
    `backend:   ${report.selected} (${report.why})`,
    '\nGPU backend libraries:',
  ];
  if (report.libraries.length === 0) lines.push('  none found');
  for (const l of report.libraries) {
    const state = l.ok === undefined ? 'not probed' : l.ok ? `ok on ${l.devices?.join(', ')}` : `skipped: ${l.reason}`;
    lines.push(`  ${l.backend.padEnd(7)} ${l.path}\n          from ${l.source}; ${state}`);
  }
  lines.push('\ndevices:');
  for (const d of report.devices) {
    lines.push(`  ${d.name.padEnd(10)} ${d.backend.padEnd(7)} ${d.type.padEnd(5)} ${gib(d.memoryTotal).padStart(9)}  ${d.description}`);
  }
  return printOut(lines.join('\n'));
}
