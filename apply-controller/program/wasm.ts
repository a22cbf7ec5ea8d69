/**
 * The WebAssembly pieces the sandbox needs, typed here: the project's TypeScript
 * library set (esnext, no DOM) does not declare WebAssembly's global values.
 */

/** A WebAssembly linear memory, as far as the sandbox reads it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WasmGlobal {
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<object>;
}

/** The global `WebAssembly` object of this JavaScript realm. */
export const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
