/**
 * Running a compiled program once, in a fresh sandbox: a Worker thread holding a
 * fresh QuickJS instance in a capped WebAssembly memory (worker.ts). The Worker is
 * terminated at the deadline whatever the program does — a loop that swallows the
 * interpreter's interrupt included — so a hostile program costs at most the time
 * and memory limits, and the calling thread is never blocked by it.
 */
import { Worker } from 'node:worker_threads';
import { renderLimits, type RenderLimits } from './limits.ts';
import { interpreterBinary, sandboxWorkerScript } from './sandbox-files.ts';
import { wasm } from './wasm.ts';
import type { ProgramCall, RenderFailureReason, WorkerReply, WorkerTask } from './protocol.ts';
import { reportRender } from './observe.ts';

/** A program call that failed; `message` never carries values (see {@link RenderError}). */
export interface RenderFailure {
  readonly ok: false;
  readonly reason: RenderFailureReason;
  readonly message: string;
  readonly logs: readonly string[];
}

/** A program call that returned text. */
export interface RenderSuccess {
  readonly ok: true;
  /** The JSON text the program returned. */
  readonly output: string;
  /** What the program wrote with `console.*` (bounded). */
  readonly logs: readonly string[];
}

/** The outcome of {@link runProgram}. */
export type RunResult = RenderSuccess | RenderFailure;

/** Room for the Worker's own JavaScript (the program text, the output), apart from the capped interpreter memory. */
const WORKER_HEAP_MB = 128;

let interpreter: Promise<object | undefined> | undefined;

/** Renders run at once in this process; the others wait their turn (their deadline starts when they run). */
let concurrency = 2;
let slots = concurrency;
const waiting: (() => void)[] = [];

/** Sets how many renders may run at once (default 2: a render takes a core while it runs). */
export function setRenderConcurrency(n: number): void {
  slots += Math.max(1, Math.floor(n)) - concurrency;
  concurrency = Math.max(1, Math.floor(n));
  while (slots > 0 && waiting.length > 0) {
    slots -= 1;
    waiting.shift()!();
  }
}

async function acquire(): Promise<() => void> {
  if (slots > 0) slots -= 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  return () => {
    const next = waiting.shift();
    if (next) next();
    else slots += 1;
  };
}

/** The QuickJS WebAssembly module, compiled once per process and shared with every Worker. */
function compiledInterpreter(): Promise<object | undefined> {
  interpreter ??= (async () => {
    try {
      return await wasm.compile(await interpreterBinary());
    } catch {
      return undefined; // each Worker then compiles it itself
    }
  })();
  return interpreter;
}

/**
 * Calls `call.method` of the program `source` in a new sandbox and returns its
 * text output or why there is none. Never throws for anything the program does.
 */
export async function runProgram(source: string, call: ProgramCall, limits: Partial<RenderLimits> = {}): Promise<RunResult> {
  const checked = renderLimits(limits);
  const wasmModule = await compiledInterpreter();
  const release = await acquire();
  const started = performance.now();
  try {
    const result = await runInWorker(source, call, checked, wasmModule);
    reportRender({ kind: 'ran', method: call.method, seconds: (performance.now() - started) / 1000, outcome: result.ok ? 'ok' : result.reason });
    return result;
  } finally {
    release();
  }
}

function runInWorker(source: string, call: ProgramCall, checked: RenderLimits, wasmModule: object | undefined): Promise<RunResult> {
  const started = Date.now();
  const { script, eval: isScriptText } = sandboxWorkerScript();
  const task: WorkerTask = {
    source, call, limits: checked, deadline: started + checked.timeoutMs, ...(wasmModule ? { wasmModule } : {}),
  };
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    const worker = new Worker(script, {
      eval: isScriptText,
      workerData: task,
      // No environment, no stdin/stdout of ours, a bounded heap for the Worker's own JavaScript.
      env: {},
      stdin: false, stdout: true, stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    const finish = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish({ ok: false, reason: 'Timeout', message: `the program did not finish within ${checked.timeoutMs} ms`, logs: [] });
    }, Math.max(0, started + checked.timeoutMs - Date.now()));
    worker.on('message', (reply: WorkerReply) => {
      finish(reply.ok ? reply : { ...reply, logs: reply.logs ?? [] });
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY' || /memory/i.test(err.message);
      finish(oom
        ? { ok: false, reason: 'OutOfMemory', message: 'the program ran out of memory', logs: [] }
        : { ok: false, reason: 'Crashed', message: `the sandbox failed: ${err.message}`, logs: [] });
    });
    worker.on('exit', (code) => {
      finish({ ok: false, reason: 'Crashed', message: `the sandbox exited (code ${code}) without an answer`, logs: [] });
    });
  });
}
