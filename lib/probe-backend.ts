// Child process of lib/backends.ts: loads one GPU backend library and computes on its devices.
// Prints PROBE_ANSWER then {"devices": [...]} (those that passed, of them the ones a model loads
// onto: backends.ts modelDevices) or {"reason": "..."} on one line (whatever else the library prints
// around it); a crash is the parent's answer too.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { PROBE_ANSWER, modelDevices } from './backends.js';

const [addonPath, libraryPath] = process.argv.slice(2);
const native = createRequire(import.meta.url)(addonPath);
const [loaded] = native.init(dirname(addonPath), [libraryPath]) as { backend?: string; error?: string }[];
let out: { devices?: string[]; reason?: string };
if (loaded.error) {
  out = { reason: loaded.error };
} else {
  const devices = (native.listDevices() as { name: string; backend: string; type: string }[]).filter((d) => d.backend === loaded.backend);
  const failures = devices.map((d) => [d.name, native.probeDevice(d.name) as string]).filter(([, why]) => why);
  if (devices.length === 0) out = { reason: `${loaded.backend} found no device` };
  else if (failures.length === devices.length) out = { reason: failures.map(([d, why]) => `${d}: ${why}`).join('; ') };
  else out = { devices: modelDevices(devices.filter((d) => !failures.some(([f]) => f === d.name))).map((d) => d.name) };
}
console.log(PROBE_ANSWER + JSON.stringify(out));
