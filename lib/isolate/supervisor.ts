// Keeps an isolated Reranker's model in a live child process: a child that dies after loading is
// replaced at once (the next requests wait for its load); one that died or failed while loading is
// replaced by the next request instead, so a model that cannot load does not respawn in a loop.
import type { ModelInfo } from '../types.js';
import type { ValidLoadOptions } from '../validate.js';
import { ChildReranker } from './child-reranker.js';

export class ChildSupervisor {
  /** Children started after the first. */
  restarts = 0;
  private closed = false;

  private constructor(private readonly options: ValidLoadOptions, private child: ChildReranker) {
    this.watch(child);
  }

  /** The first child, loaded; rejects as its load does (MODEL_LOAD_FAILED, BACKEND_CRASHED). */
  static async start(options: ValidLoadOptions): Promise<ChildSupervisor> {
    const child = new ChildReranker(options);
    await child.loaded;
    return new ChildSupervisor(options, child);
  }

  /** The child to send work to: a new one when the current one has died or failed. */
  live(): ChildReranker {
    if (this.child.failure && !this.closed) this.respawn(this.child.info());
    return this.child;
  }

  /** A replacement child is loading the model. */
  get restarting(): boolean {
    return this.restarts > 0 && this.child.loading;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  close(): void {
    this.closed = true;
    this.child.dispose();
  }

  /**
   * Resolves once the current child process has exited (after close(): with its model freed). close()
   * let go of the child so that the process may exit at will; a caller waiting for its exit holds the
   * process open until then (at most the grace before the child is killed).
   */
  ended(): Promise<void> {
    const hold = setInterval(() => {}, 2 ** 30);
    return this.child.exited.then(() => clearInterval(hold));
  }

  private watch(child: ChildReranker): void {
    void child.exited.then((crash) => {
      if (crash && child === this.child && child.hasLoaded && !this.closed) this.respawn(child.info());
    });
  }

  private respawn(known: ModelInfo): void {
    this.restarts++;
    this.child = new ChildReranker(this.options, known);
    this.child.loaded.catch(() => {}); // its failure is reported to the calls waiting on it
    this.watch(this.child);
  }
}
