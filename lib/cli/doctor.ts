// `llama-rerank doctor`: what this machine offers llama-rerank, and what it will use.
import { getBackends } from '../devices.js';
import { nativeModule } from '../native.js';
import { noPositionals, parse } from './args.js';
import { printOut } from './output.js';

export const DOCTOR_USAGE = `Usage: llama-rerank doctor [--json]

Lists the addon in use, the CPU features llama.cpp uses, the GPU backend libraries found (each
probed in a child process), the devices, and the backend models load onto by default, with the reason.
Environment: LLAMA_RERANK_GPU (force cpu, cuda, vulkan or metal), LLAMA_RERANK_BACKEND_PATH.`;

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/** The CPU backend's features that are on, from llama.cpp's system info ("CPU : SSE3 = 1 | AVX = 1 | … | CUDA : ARCHS = 900 | …"). */
export function cpuFeatures(systemInfo: string): string[] {
  const on: string[] = [];
  let backend = '';
  for (const part of systemInfo.split('|')) {
    const m = /^\s*(?:([^:=]+?)\s*:\s*)?([^:=]+?)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) continue;
    if (m[1] !== undefined) backend = m[1];
    if (backend === 'CPU' && m[3] === '1') on.push(m[2]);
  }
  return on;
}

/** Instruction sets that multiply BF16 in hardware: where `weights: 'bf16'` pays on the CPU (README "Weights"). */
const HARDWARE_BF16 = ['AVX512_BF16', 'AMX_BF16'];

export async function doctor(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  noPositionals(positionals);
  const report = getBackends();
  const cpu = cpuFeatures(nativeModule().systemInfo()); // after getBackends(): the CPU backend is registered
  if (values.json) return printOut(JSON.stringify({ llamaCpp: nativeModule().llamaCppRelease, ...report, cpuFeatures: cpu }, null, 2));
  const bf16 = cpu.filter((f) => HARDWARE_BF16.includes(f));
  const lines = [
    `addon:     ${report.addon}`,
    `llama.cpp: ${nativeModule().llamaCppRelease}`,
    `backend:   ${report.selected} (${report.why})`,
    `cpu:       ${cpu.join(' ') || 'no features reported'}`,
  ];
  if (bf16.length > 0) {
    lines.push(`           ${bf16.join(', ')}: BF16 products in hardware; weights: 'bf16' (--weights bf16) may decode faster than a Q8_0 file (README "Weights")`);
  }
  lines.push('\nGPU backend libraries:');
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
