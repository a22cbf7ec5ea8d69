/**
 * Where the render sandbox's two parts come from: the script its Worker runs
 * (worker.ts) and the QuickJS WebAssembly binary. A checkout finds both on disk,
 * next to the sources and in node_modules. The shipped CLI has neither — a single
 * executable has no folder of its own — so hack/build-cli.ts builds it with this
 * module replaced by one that carries both: the Worker bundled into one CommonJS
 * script (run with `eval`) and the binary's bytes.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** What `new Worker()` is given: the Worker module's URL, or with `eval` its whole script. */
export interface SandboxWorkerScript {
  readonly script: URL | string;
  readonly eval: boolean;
}

/** The render Worker of this build. */
export function sandboxWorkerScript(): SandboxWorkerScript {
  return { script: new URL('./worker.ts', import.meta.url), eval: false };
}

/** The QuickJS WebAssembly binary of this build (the release-sync variant the Worker loads). */
export async function interpreterBinary(): Promise<Uint8Array> {
  return readFile(fileURLToPath(import.meta.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')));
}
