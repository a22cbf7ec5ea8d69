/**
 * The Worker a render runs in (started by render.ts, one per render, terminated
 * by its parent at the deadline). It instantiates a fresh QuickJS WebAssembly
 * module inside a capped `WebAssembly.Memory`, loads the prelude and the
 * program, calls the program and posts back the output JSON — or why there is
 * none. Nothing of one render survives into the next.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC, shouldInterruptAfterDeadline,
  type QuickJSContext, type QuickJSHandle,
} from 'quickjs-emscripten';
import type { RenderLimits } from './limits.ts';
import { WASM_PAGE } from './limits.ts';
import { wasm } from './wasm.ts';
import { LOGS_GLOBAL, PROGRAM_GLOBAL, preludeSource } from './prelude.ts';
import type { WorkerReply, WorkerTask } from './protocol.ts';

/** Pages the interpreter starts with; it grows up to the cap. */
const INITIAL_PAGES = 256;
/** Left to the interpreter's own limit below the WebAssembly cap, so it fails cleanly before the memory does. */
const HEADROOM = 8 * 1024 * 1024;

function post(reply: WorkerReply): void {
  parentPort?.postMessage(reply);
}

/** The guest's error as one line: its name and message, never its data. */
function describeGuestError(vm: QuickJSContext, handle: QuickJSHandle): { name: string; message: string; nothing?: boolean } {
  const dumped: unknown = vm.dump(handle);
  if (dumped === null || dumped === undefined) return { name: 'Error', message: `the program threw ${String(dumped)}`, nothing: true };
  if (typeof dumped === 'object' && dumped !== null) {
    const e = dumped as { name?: unknown; message?: unknown; stack?: unknown };
    const where = typeof e.stack === 'string' ? e.stack.split('\n').find((l) => l.trim().startsWith('at '))?.trim() : undefined;
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: `${typeof e.message === 'string' ? e.message : 'an error without a message'}${where ? ` (${where})` : ''}`,
    };
  }
  return { name: 'Error', message: `the program threw ${typeof dumped === 'string' ? dumped : JSON.stringify(dumped)}` };
}

/** Whether the interpreter's memory is (nearly) at its cap: QuickJS then throws `null`, having no memory left for an error. */
let memoryExhausted = (): boolean => false;

function classify(err: { name: string; message: string; nothing?: boolean }, deadline: number): WorkerReply {
  if (err.name === 'InternalError' && /interrupted/.test(err.message) || Date.now() >= deadline) {
    return { ok: false, reason: 'Timeout', message: 'the program did not finish in time' };
  }
  if (/out of memory/i.test(err.message) || (err.nothing === true && memoryExhausted())) {
    return { ok: false, reason: 'OutOfMemory', message: 'the program ran out of memory' };
  }
  if (/stack overflow|call stack/i.test(err.message)) {
    return { ok: false, reason: 'StackOverflow', message: `the program recursed too deeply: ${err.message}` };
  }
  return { ok: false, reason: 'ProgramFailed', message: `${err.name}: ${err.message}` };
}

function readString(vm: QuickJSContext, handle: QuickJSHandle, limits: RenderLimits): WorkerReply | string {
  if (vm.typeof(handle) !== 'string') return { ok: false, reason: 'InvalidOutput', message: `the program returned a ${vm.typeof(handle)}, not JSON text` };
  const length = vm.getProp(handle, 'length').consume((h) => vm.getNumber(h));
  if (length > limits.outputChars) {
    return { ok: false, reason: 'OutputTooLarge', message: `the output is ${length} characters, more than the limit of ${limits.outputChars}` };
  }
  return vm.getString(handle);
}

function logsOf(vm: QuickJSContext): string[] {
  const result = vm.evalCode(`${LOGS_GLOBAL}()`);
  if (result.error) {
    result.error.dispose();
    return [];
  }
  const text = result.value.consume((h) => (vm.typeof(h) === 'string' ? vm.getString(h) : '[]'));
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((l): l is string => typeof l === 'string') : [];
  } catch {
    return [];
  }
}

async function run(task: WorkerTask): Promise<WorkerReply> {
  const { limits } = task;
  const deadline = task.deadline;
  const maxPages = Math.floor(limits.memoryBytes / WASM_PAGE);
  const memory = new wasm.Memory({ initial: Math.min(INITIAL_PAGES, maxPages), maximum: maxPages });
  // The library types these with the DOM's WebAssembly declarations, which this project does not load.
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, {
    wasmMemory: memory as never,
    ...(task.wasmModule ? { wasmModule: task.wasmModule } : {}),
  }));
  memoryExhausted = () => memory.buffer.byteLength >= limits.memoryBytes - 2 * HEADROOM;
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(Math.max(limits.memoryBytes - HEADROOM, limits.memoryBytes / 2));
  runtime.setMaxStackSize(limits.stackBytes);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
  const vm = runtime.newContext();
  const evaluate = (code: string, filename: string): WorkerReply | undefined => {
    const r = vm.evalCode(code, filename, { type: 'global', strict: false });
    if (r.error) return r.error.consume((h) => classify(describeGuestError(vm, h), deadline));
    r.value.dispose();
    return undefined;
  };
  const failed = evaluate(preludeSource(limits.logLines), 'prelude.js') ?? evaluate(task.source, 'program.js');
  if (failed) return failed;
  const program = vm.getProp(vm.global, PROGRAM_GLOBAL);
  const fn = vm.typeof(program) === 'object' ? vm.getProp(program, task.call.method) : vm.undefined;
  if (vm.typeof(fn) !== 'function') {
    fn.dispose();
    program.dispose();
    return { ok: false, reason: 'NotAProgram', message: `the bundle's program does not define ${PROGRAM_GLOBAL}.${task.call.method}()` };
  }
  const args = task.call.input === undefined ? [] : [vm.newString(task.call.input)];
  const result = vm.callFunction(fn, program, ...args);
  for (const a of args) a.dispose();
  fn.dispose();
  program.dispose();
  const logs = logsOf(vm);
  if (result.error) return { ...result.error.consume((h) => classify(describeGuestError(vm, h), deadline)), logs };
  const output = result.value.consume((h) => readString(vm, h, limits));
  if (typeof output !== 'string') return { ...output, logs };
  // Tearing the instance down is left to the Worker's exit: the memory goes with it.
  return { ok: true, output, logs };
}

// A promise chain, not a top-level await: the shipped CLI runs this module as a CommonJS script (see sandbox-files.ts).
void run(workerData as WorkerTask).then(post).catch((err: unknown) => {
  // Raised by the host side of the sandbox (the memory cap reached while growing, an interpreter abort).
  const message = err instanceof Error ? err.message : String(err);
  post(/memory|out of bounds|Aborted/i.test(message)
    ? { ok: false, reason: 'OutOfMemory', message: 'the program ran out of memory' }
    : { ok: false, reason: 'Crashed', message: `the sandbox failed: ${message}` });
});
