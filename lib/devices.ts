import { backendReport, nativeModule } from './native.js';
import type { BackendReport } from './backends.js';
import type { DeviceInfo } from './types.js';

/** The compute devices llama.cpp found in this process (the CPU included). */
export function getDevices(): DeviceInfo[] {
  return nativeModule().listDevices();
}

/** The GPU backend libraries found, how each probed, and the backend models use by default. */
export function getBackends(): BackendReport & { addon: string; devices: DeviceInfo[] } {
  return { ...backendReport(), devices: getDevices() };
}
