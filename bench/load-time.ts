// How long a load takes with the file's weights as stored and with them converted to BF16 at load,
// in memory (native/weights_at_load.h: weights: 'auto' on CUDA; the native load's 'bf16' makes the
// same conversion on any backend), alternating, through the native module.
//   node dist/bench/load-time.js [--model PATH] [--backend cpu|cuda] [--rounds N]
// Default model: the generated 0.6B-shaped Q8_0 one (test/.models).
import { nativeModule } from '../lib/native.js';
import { ensureTestModel } from '../test-models/generate.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const path = flag('--model') ?? ensureTestModel({ shape: '0.6b', kind: 'rank', seed: 1 });
const gpu = flag('--backend') ?? 'cpu';
const rounds = Number(flag('--rounds') ?? 2);

for (let round = 1; round <= rounds; round++) {
  for (const weights of ['stored', 'bf16'] as const) {
    const start = performance.now();
    const model = await nativeModule().loadModel({
      path, gpu, weights, maxLength: 2048, batchSize: 512, ubatchSize: 512, maxSequences: 64, flashAttention: 'auto', kvType: 'f16', pack: false,
    });
    const seconds = (performance.now() - start) / 1000;
    const info = model.info();
    model.dispose();
    console.log(`round ${round}, weights ${weights}: ${seconds.toFixed(1)} s (${info.description}, ${info.backend}${info.weightsConvertedAtLoad ? ', converted at load' : ''})`);
  }
}
