import { nativeModule } from './native.js';
import type { DeviceInfo } from './types.js';

/** The compute devices llama.cpp found in this process (the CPU included). */
export function getDevices(): DeviceInfo[] {
  return nativeModule().listDevices();
}
