// A NativeReranker whose model lives in a child process (child-main.ts): each call crosses the IPC
// pipe by method name. When the child dies, every call in flight and every later one rejects with
// BACKEND_CRASHED, naming the signal or exit code and the child's last stderr lines.
import { ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../models/paths.js';
import { RerankError, RerankErrorCode } from '../errors.js';
import type { NativeCallResult, NativeGroup, NativeReranker } from '../native.js';
import type { ModelInfo } from '../types.js';
import type { ValidLoadOptions } from '../validate.js';
import { LineTail } from './line-tail.js';
import type { Call, RemoteMethod, Reply, WireError } from './protocol.js';

/** stderr lines kept to explain a death. */
const TAIL_LINES = 20;
/** After dispose, how long the child may take to finish its work in flight before it is killed. */
const END_GRACE_MS = 10_000;
/** How long after its exit the child's stderr is read for its last lines. */
const STDERR_DRAIN_MS = 1000;

/** The compiled entry beside this file; from the TypeScript sources (the tests), the one in dist/. */
function childEntry(): string {
  const beside = fileURLToPath(new URL('./child-main.js', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot, 'dist', 'lib', 'isolate', 'child-main.js');
}

type Settle = { resolve: (value: unknown) => void; reject: (err: Error) => void };

function fromWire(e: WireError): Error {
  if (e.rerank && e.code) return new RerankError(e.code as RerankErrorCode, e.message, e.field);
  return Object.assign(new Error(e.message), { code: e.code });
}

/** A method added to NativeReranker is forwarded by one line here: `call` (a promise) or `notify` (void). */
export class ChildReranker implements NativeReranker {
  /** Resolves once the model is loaded in the child; rejects when that failed or the child died first. */
  readonly loaded: Promise<ModelInfo>;
  /** Resolves when the child is gone: with its BACKEND_CRASHED error, or undefined after dispose(). */
  readonly exited: Promise<RerankError | undefined>;
  /** Why calls fail now: the child died, or its load failed. */
  failure: RerankError | undefined;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Settle>();
  private readonly stderr = new LineTail(TAIL_LINES);
  private modelInfo: ModelInfo | undefined;
  private nextId = 1;
  private ending = false;
  private loadedHere = false;

  /** `known`: the info of an earlier child of the same options, answered by info() while this one loads. */
  constructor(options: ValidLoadOptions, known?: ModelInfo) {
    this.modelInfo = known;
    // execArgv: none of the parent's (an --inspect port would clash); "advanced": typed arrays intact.
    this.child = fork(childEntry(), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv: [] });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.write(chunk);
      process.stderr.write(chunk); // the child's native errors reach the console as they happen
    });
    this.child.on('message', (reply: Reply) => this.settle(reply));
    // The child's last words may still be in the pipe at its exit: read them first (briefly, as a
    // grandchild may hold the pipe open). 'close' would wait for that, but never comes after disconnect().
    const stderrRead = new Promise<void>((resolve) => this.child.stderr!.once('close', resolve));
    const drained = () => Promise.race([stderrRead, delay(STDERR_DRAIN_MS, undefined, { ref: false })]);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => resolve(this.died(`could not be run (${err.message})`)));
      this.child.on('exit', (code, signal) => {
        void drained().then(() => resolve(this.died(signal ? `was killed by ${signal}` : `exited with code ${code}`)));
      });
    });
    this.loaded = this.send({ id: 0, method: 'load', args: [options] }) as Promise<ModelInfo>;
    this.loaded.then(
      (info) => {
        this.modelInfo = info;
        this.loadedHere = true;
      },
      (err: RerankError) => {
        this.failure ??= err;
        this.stop(err); // the calls sent meanwhile fail with the load's error, not as if disposed
      },
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether its model ever finished loading (it may have died since). */
  get hasLoaded(): boolean {
    return this.loadedHere;
  }

  /** Still loading its model: not loaded, failed or disposed yet. */
  get loading(): boolean {
    return !this.loadedHere && !this.failure && !this.ending;
  }

  score(groups: NativeGroup[]): Promise<NativeCallResult> {
    return this.call('score', [groups]);
  }

  cancel(id: number): void {
    this.notify('cancel', [id]);
  }

  tokenize(text: string, parseSpecial: boolean, maxTokens?: number): Promise<Int32Array> {
    return this.call('tokenize', [text, parseSpecial, maxTokens]);
  }

  truncate(text: string, maxTokens: number): Promise<string | null> {
    return this.call('truncate', [text, maxTokens]);
  }

  info(): ModelInfo {
    if (!this.modelInfo) throw this.failure ?? new RerankError('MODEL_LOAD_FAILED', 'the model is still loading');
    return this.modelInfo;
  }

  /**
   * Ends the child: the calls in flight reject with DISPOSED, and the child, disconnected, disposes
   * its model, which stops the running call at its next decode (killed if it takes too long).
   */
  dispose(): void {
    this.stop(new RerankError('DISPOSED', 'the reranker was disposed'));
  }

  /** Ends the child, rejecting the calls in flight with `reason`. */
  private stop(reason: RerankError): void {
    if (this.ending) return;
    this.ending = true;
    for (const [, waiting] of this.pending) waiting.reject(reason);
    this.pending.clear();
    this.end();
  }

  /** For a method that answers nothing (void): sent, no reply awaited; a dead child drops it. */
  private notify(method: RemoteMethod, args: unknown[]): void {
    if (!this.failure && this.child.connected) this.child.send({ id: -1, method, args } satisfies Call, () => {});
  }

  private call<M extends RemoteMethod>(method: M, args: Parameters<NativeReranker[M]>): ReturnType<NativeReranker[M]> {
    if (this.failure) return Promise.reject(this.failure) as ReturnType<NativeReranker[M]>;
    if (this.ending) return Promise.reject(new RerankError('DISPOSED', 'the reranker was disposed')) as ReturnType<NativeReranker[M]>;
    return this.send({ id: this.nextId++, method, args }) as ReturnType<NativeReranker[M]>;
  }

  private send(call: Call): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // A call the pipe cannot carry fails here; one sent to a child that just died is rejected
      // with BACKEND_CRASHED when its exit is seen (the send callback's error says less).
      this.child.send(call, () => {});
      this.pending.set(call.id, { resolve, reject });
      this.holdProcess(true);
    });
  }

  /**
   * The child keeps this process running only while a call waits on it, as an in-process model
   * does: a script that never disposes still exits once its last call is answered.
   */
  private holdProcess(busy: boolean): void {
    if (this.ending) return; // end() has let go for good
    const handles = [this.child, this.child.channel, this.child.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const h of handles) (busy ? h?.ref : h?.unref)?.call(h);
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.error) waiting.reject(fromWire(reply.error));
    else waiting.resolve(reply.result);
    if (this.ending && this.pending.size === 0) this.end();
    else if (this.pending.size === 0) this.holdProcess(false);
  }

  private end(): void {
    if (this.child.connected) this.child.disconnect();
    // The parent may exit now, whatever the child does; a child still busy after the grace is killed.
    this.child.unref();
    (this.child.stderr as unknown as { unref?: () => void }).unref?.();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), END_GRACE_MS);
    kill.unref();
    this.child.once('exit', () => clearTimeout(kill));
  }

  /** The child is gone: a crash unless it was ended; everything waiting on it fails. */
  private died(how: string): RerankError | undefined {
    if (this.ending && this.pending.size === 0) return undefined;
    const tail = this.stderr.text();
    const crash = new RerankError(
      'BACKEND_CRASHED',
      `the model's child process (pid ${this.child.pid}) ${how}${tail ? `; its last stderr lines:\n${tail}` : ' with nothing on stderr'}`,
    );
    this.failure ??= crash;
    for (const [, waiting] of this.pending) waiting.reject(crash);
    this.pending.clear();
    return crash;
  }
}
