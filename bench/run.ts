// `npm run bench`: builds the workloads' texts once, starts each engine in its own child process,
// then times them pass by pass in turn (one at a time: they would share the cores or the GPU), and
// writes bench/results/<date>-<backend>[-quick].{json,md,svg}. `--backend cuda|vulkan|metal` runs the
// GPU suite; `--tokens FILE` writes the pairs' token ids for the PyTorch baseline (bench/baselines/),
// whose output `--baseline FILE` prints beside the run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { Reranker } from '../lib/index.js';
import { packageRoot } from '../models/paths.js';
import { ensureTestModel } from '../test-models/generate.js';
import { svgChart } from './chart.js';
import type { ChildSpec } from './child.js';
import { CONFIGS, configLabel } from './configs.js';
import { EngineProcess } from './engine-process.js';
import { NoisePolicy } from './noise.js';
import { notes } from './notes.js';
import { parseOptions } from './options.js';
import { markdown } from './report.js';
import { Baseline, BenchReport, EngineResult, LLAMA_RERANK, Machine, fillPeerPromptTokens, find, headlines } from './results.js';
import { writeTokens } from './tokens.js';
import { Workload, buildWorkloads } from './workloads.js';

const resultsDir = join(packageRoot, 'bench', 'results');
/** The tuned peer's context: llama-rerank's default maxLength, so both hold the same pairs. */
const PEER_CONTEXT = 8192;
/** The ceiling's sequence: llama.cpp's pp512 (one full default batch). */
const CEILING_TOKENS = 512;

const argv = process.argv.slice(2);
const opts = parseOptions(argv);
const generated = !opts.model;
// The rank kind: node-llama-cpp needs its classifier head and rerank template; llama-rerank reads both kinds.
if (generated) console.error('model: the generated 0.6B-shaped rank GGUF (generated on first use, about 20 s)');
const model = opts.model ?? ensureTestModel({ shape: '0.6b', kind: 'rank', seed: 1 });

/** The 1-minute load average after each round: how busy the machine was while we measured. */
const loads: number[] = [loadavg()[0]];

function machine(devices: unknown): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version, platform: `${process.platform}-${process.arch}`,
    loadBefore: loads[0], loadDuring: [Math.min(...loads), Math.max(...loads)], loadAfter: loadavg()[0],
    gpus: nvidiaGpus(), devices: Array.isArray(devices) ? devices.map(String) : undefined,
  };
}

/** "NVIDIA H200, 143771 MiB, driver 580.159.03", one per GPU; undefined without nvidia-smi. */
function nvidiaGpus(): string[] | undefined {
  try {
    const csv = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return csv.trim().split('\n').filter(Boolean).map((l) => l.replace(/, ([^,]+)$/, ', driver $1'));
  } catch {
    return undefined;
  }
}

/** The code measured: the commit, "-dirty" when tracked files have changes (a copy without git: as packed, see bench/gpu/). */
function revision(): string {
  if (process.env.LLAMA_RERANK_REVISION) return process.env.LLAMA_RERANK_REVISION;
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: packageRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Quick runs wait and redo little: they must end within two minutes. So do GPU runs: the CPU is not what they measure. */
const noise = opts.suite === 'gpu' ? new NoisePolicy(3_000, 20_000, 100)
  : opts.quick ? new NoisePolicy(3_000, 20_000) : new NoisePolicy(60_000, 240_000);

interface Contender {
  engine: EngineProcess;
  /** Passes of a workload this engine runs. */
  passes: (w: Workload) => number;
}

/** Round by round (a round: one pass of a workload), every engine in turn, the ceiling's sequence after each. */
async function timeAll(workloads: Workload[], contenders: Contender[], ceiling: EngineProcess): Promise<void> {
  let round = 0;
  for (const w of workloads) {
    for (let pass = 0; pass < w.repeats; pass++, round++) {
      // Rotated each round, so that no engine always has the same place in it (say, right after the ceiling).
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
      for (const c of order) if (pass < c.passes(w)) await c.engine.run(w.id, 1, noise);
      await ceiling.run('ceiling', 1, noise);
      loads.push(loadavg()[0]);
    }
  }
}

mkdirSync(resultsDir, { recursive: true });
console.error(`workloads ${opts.workloads.join(',')}${opts.quick ? ' (--quick)' : ''}: building the texts…`);
// for its tokens and the file's description: the weights as stored (no conversion at load)
const tokenizer = await Reranker.load({ model, gpu: opts.backend, threads: opts.threads, weights: 'stored' });
const { description, kind } = tokenizer.info;
const workloads = await buildWorkloads(opts.suite, opts.workloads, opts.quick, async (t) => (await tokenizer.tokenize(t)).length);
if (opts.tokensFile) {
  await writeTokens(opts.tokensFile, model, tokenizer, workloads);
  console.error(`wrote the pairs' token ids to ${opts.tokensFile}`);
}
tokenizer.dispose();
if (opts.tokensOnly) process.exit(0);
const baseline = opts.baselineFile ? (JSON.parse(readFileSync(opts.baselineFile, 'utf8')) as Baseline) : undefined;
const workloadsFile = join(resultsDir, `workloads-${process.pid}.tmp`);
writeFileSync(workloadsFile, JSON.stringify(workloads));

const base = { model, backend: opts.backend, workloadsFile };
const start = (script: string, spec: Omit<ChildSpec, keyof typeof base>) => EngineProcess.start(script, { ...base, ...spec });
const started: EngineProcess[] = [];
let engines: EngineResult[];
try {
  const contenders: Contender[] = [];
  const add = async (p: Promise<EngineProcess>, passes: Contender['passes']) => {
    const engine = await p;
    started.push(engine);
    if (!engine.failed) contenders.push({ engine, passes });
  };
  await add(start('engine-llama-rerank.js', { label: LLAMA_RERANK, threads: opts.threads }), (w) => w.repeats);
  // Other configurations run on one workload, G100 where it runs, else the first; or on all of them.
  const configWorkload = (workloads.find((w) => w.id === 'G100') ?? workloads[0]).id;
  for (const name of opts.configs) {
    await add(start('engine-llama-rerank.js', { label: configLabel(name), threads: opts.threads, config: CONFIGS[name] }),
      (w) => (opts.configsEverywhere || w.id === configWorkload ? w.repeats : 0));
  }
  if (!opts.skipPeer) {
    await add(start('engine-peer.js', { label: `node-llama-cpp (threads ${opts.threads})`, threads: opts.threads, contextSize: PEER_CONTEXT }),
      (w) => w.peerPasses ?? w.repeats);
    if (workloads.some((w) => w.peerDefaultsPasses > 0)) {
      await add(start('engine-peer.js', { label: 'node-llama-cpp (defaults)' }), (w) => w.peerDefaultsPasses);
    }
  }
  const ceiling = await start('engine-llama-rerank.js', { label: 'ceiling', threads: opts.threads, ceiling: { sequenceTokens: CEILING_TOKENS } });
  started.push(ceiling);
  await timeAll(workloads, contenders, ceiling);
} finally {
  engines = await Promise.all(started.map((e) => e.close()));
  rmSync(workloadsFile, { force: true });
}

const ours = engines.find((e) => e.label === LLAMA_RERANK);
for (const e of engines) if (e.label.startsWith('node-llama-cpp')) fillPeerPromptTokens(e, ours);
const ceilingRun = find(engines.find((e) => e.label === 'ceiling'), 'ceiling');
const backend = opts.backend !== 'auto' ? opts.backend : String(ours?.settings.backend ?? opts.backend).toLowerCase();
const report: BenchReport = {
  date: new Date().toISOString().slice(0, 10),
  command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  quick: opts.quick,
  revision: revision(),
  backend,
  machine: machine(ours?.settings.devices),
  noise: noise.settings,
  model: { file: basename(model), generated, description, kind },
  workloads: workloads.map(({ requests, ...w }) => {
    const mine = find(ours, w.id);
    return { ...w, promptTokensPerPass: mine ? mine.promptTokens / mine.passes : undefined };
  }),
  engines,
  ceiling: ceilingRun && { tokensPerSec: ceilingRun.computedTokensPerSec, sequences: ceilingRun.passes, sequenceTokens: CEILING_TOKENS },
  headline: headlines(engines, ceilingRun, workloads.flatMap((w) => Array<string>(w.repeats).fill(w.id))),
  baseline,
  notes: [],
};
report.notes = notes(report);
// The GPU suite on a CPU (a check of the suite, not a result to keep) is named apart from the CPU suite's runs.
const suiteTag = (opts.suite === 'gpu') === (backend === 'cpu') ? `-${opts.suite}-suite` : '';
const stem = join(resultsDir, `${report.date}-${backend}${suiteTag}${opts.quick ? '-quick' : ''}`);
writeFileSync(`${stem}.json`, JSON.stringify(report, null, 1) + '\n');
writeFileSync(`${stem}.md`, markdown(report));
writeFileSync(`${stem}.svg`, svgChart(report));
console.log(markdown(report));
console.error(`wrote ${stem}.{json,md,svg}`);
