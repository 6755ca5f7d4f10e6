// One 'abort' listener per AbortSignal, however many calls wait on it. A signal shared by more than
// ten concurrent calls (a service's shutdown signal passed to every request) would otherwise trip
// Node's MaxListenersExceededWarning, and raising the limit of a caller's signal is not ours to do.
interface Watch {
  waiters: Set<() => void>;
  fire: () => void;
}
const watches = new WeakMap<AbortSignal, Watch>();

/**
 * Calls `onAbort` once when `signal` aborts, as addEventListener('abort', onAbort, { once: true })
 * would (nothing when it has aborted already); the function returned stops that.
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let watch = watches.get(signal);
  if (!watch) {
    const waiters = new Set<() => void>();
    const fire = () => {
      watches.delete(signal);
      // As an event's listeners: those added meanwhile wait for no event, those stopped meanwhile are
      // not called, and one that throws keeps none of the others from their call.
      for (const waiter of [...waiters]) {
        if (!waiters.has(waiter)) continue;
        try {
          waiter();
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    watch = { waiters, fire };
    watches.set(signal, watch);
    signal.addEventListener('abort', fire, { once: true });
  }
  const { waiters, fire } = watch;
  const waiter = () => {
    waiters.delete(waiter);
    onAbort();
  };
  waiters.add(waiter);
  return () => {
    waiters.delete(waiter);
    if (waiters.size === 0 && watches.get(signal)?.waiters === waiters) {
      watches.delete(signal);
      signal.removeEventListener('abort', fire);
    }
  };
}
