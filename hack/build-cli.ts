/**
 * `npm run build:cli`: the CLI users install, built from the checkout's sources.
 *
 * - `dist/npm/`: an npm package whose two bins (`trellis`, `kubectl-package`) are
 *   esbuild bundles carrying every dependency, so installing it needs no network
 *   and running it needs Node.js 22 or later, no TypeScript support.
 * - `dist/bin/trellis`, `dist/bin/kubectl-package`: single-file executables (Node's
 *   single-executable-application support): the bundle injected into a copy of this
 *   Node binary, so kubectl finds its `package` plugin on a machine without Node.
 *
 * What ships differs from the checkout's `trellis` in two modules (SUBSTITUTES): no
 * `up`/`build`/`dev` commands, and no package-program runner (pushing a folder says to
 * build it in a checkout); and the dashboard's browser files (ui/web/) and the program
 * render sandbox (its Worker script and the QuickJS binary) are embedded instead of
 * read from disk, so rendering a program bundle (`kubectl package diff`) works the
 * same as in the cluster. A bundle that would contain anything of hack/ is refused,
 * which catches what the lint rule cannot see: an import of an import; so is one
 * that renders without its sandbox, or whose sandbox does not render a probe program.
 *
 * `node hack/build-cli.ts [--npm] [--sea] [--out DIR]` (both when neither is named).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import { renderLimits } from '../apply-controller/program/limits.ts';
import { PROGRAM_GLOBAL } from '../apply-controller/program/prelude.ts';
import type { WorkerReply, WorkerTask } from '../apply-controller/program/protocol.ts';
import { interpreterBinary } from '../apply-controller/program/sandbox-files.ts';
import { wasm } from '../apply-controller/program/wasm.ts';
import { projectRoot } from './lib/system-tools.ts';

const run = promisify(execFile);

/** The fuse Node's single-executable support looks for in its own binary. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Lowest Node.js major the npm package's bundles run on. */
const NPM_NODE_MAJOR = 22;

/** Checkout-only modules and what the shipped builds use instead (paths from the project root). */
const SUBSTITUTES: Readonly<Record<string, string>> = {
  'cli/bin/checkout-commands.ts': 'cli/bin/shipped-commands.ts',
  'packages-cdk8s/build/program.ts': 'cli/bin/without-package-programs.ts',
};

/** The shipped commands: their bundle entry points. */
const ENTRIES = {
  'trellis': 'cli/trellis.ts',
  'kubectl-package': 'cli/bin/kubectl-package.ts',
} as const;

/** A shipped command's name. */
export type ShippedCommand = keyof typeof ENTRIES;

/** A bundle that would ship development tooling. */
export class ShippedBundleError extends Error {
  override readonly name = 'ShippedBundleError';
}

const substitutes: esbuild.Plugin = {
  name: 'trellis-shipped-substitutes',
  setup(build) {
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = relative(projectRoot, join(args.resolveDir, args.path));
      const replacement = SUBSTITUTES[target];
      return replacement === undefined ? undefined : { path: join(projectRoot, replacement) };
    });
  },
};

/** The module that reads the dashboard's browser files from ui/web/ (a checkout has them on disk). */
const UI_ASSETS_MODULE = 'ui/server/assets.ts';

/**
 * The shipped builds carry the dashboard's browser files inside the bundle: the
 * module that reads them from disk is replaced by one that returns them embedded.
 */
const embedUiAssets: esbuild.Plugin = {
  name: 'trellis-embedded-ui-assets',
  setup(build) {
    build.onLoad({ filter: /[\\/]ui[\\/]server[\\/]assets\.ts$/ }, async (args) => {
      if (relative(projectRoot, args.path) !== UI_ASSETS_MODULE) return undefined;
      const dir = join(projectRoot, 'ui', 'web');
      const names = (await readdir(dir)).filter((n) => /\.(html|js|css|svg)$/.test(n)).sort();
      const files = await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')] as const));
      return {
        loader: 'ts',
        contents: `/** The dashboard's browser files, embedded by hack/build-cli.ts. */\n`
          + `export async function readWebAssets(): Promise<ReadonlyMap<string, string>> {\n`
          + `  return new Map(${JSON.stringify(files)});\n}\n`,
      };
    });
  },
};

/** The module that starts a render sandbox. */
export const RENDER_MODULE = 'apply-controller/program/render.ts';

/** The module that says where the render sandbox's Worker script and QuickJS binary are (a checkout has them on disk). */
export const SANDBOX_FILES_MODULE = 'apply-controller/program/sandbox-files.ts';

/** The render sandbox's Worker module (apply-controller/program/render.ts starts it). */
const SANDBOX_WORKER_MODULE = 'apply-controller/program/worker.ts';

/**
 * QuickJS's loader comes as an ES module that finds `require` and its WebAssembly
 * file through `import.meta.url`, which a CommonJS script run with `eval` has not:
 * the Worker bundle takes the package's CommonJS loader instead.
 */
const quickjsCommonJsLoader: esbuild.Plugin = {
  name: 'trellis-quickjs-commonjs-loader',
  setup(build) {
    build.onResolve({ filter: /^@jitl\/quickjs-wasmfile-[a-z-]+\/emscripten-module$/ }, (args) => (args.kind === 'require-call'
      ? undefined
      : build.resolve(args.path, { kind: 'require-call', resolveDir: args.resolveDir, importer: args.importer })));
  },
};

/** The render sandbox as the shipped builds carry it: the Worker as one CommonJS script, and the QuickJS binary. */
interface EmbeddedSandbox {
  readonly workerScript: string;
  readonly interpreter: Uint8Array;
}

let embeddedSandbox: Promise<EmbeddedSandbox> | undefined;

/**
 * Bundles the render Worker and reads the QuickJS binary, once per process, and
 * checks that the two render a program together before anything ships them.
 */
function sandboxToEmbed(): Promise<EmbeddedSandbox> {
  embeddedSandbox ??= (async () => {
    const result = await esbuild.build({
      entryPoints: [join(projectRoot, SANDBOX_WORKER_MODULE)],
      absWorkingDir: projectRoot,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${NPM_NODE_MAJOR}`,
      write: false,
      logLevel: 'silent',
      legalComments: 'inline',
      plugins: [quickjsCommonJsLoader],
    });
    const workerScript = result.outputFiles[0]?.text ?? '';
    // esbuild turns each module's `import.meta` into an empty object in a CommonJS bundle, silently for node_modules.
    if (workerScript === '' || /\bimport_meta\d*\b/.test(workerScript)) {
      throw new ShippedBundleError(`the render sandbox's Worker (${SANDBOX_WORKER_MODULE}) does not bundle into a script that runs without its files: `
        + 'it would use import.meta');
    }
    const interpreter = await interpreterBinary();
    await checkEmbeddedSandbox(workerScript, interpreter);
    return { workerScript, interpreter };
  })();
  return embeddedSandbox;
}

/** A program that renders one fixed object: what {@link checkEmbeddedSandbox} runs. */
const PROBE_PROGRAM = `globalThis.${PROGRAM_GLOBAL} = { render: () => JSON.stringify({ probe: 'rendered' }) };`;

/** What {@link PROBE_PROGRAM} returns. */
const PROBE_OUTPUT = '{"probe":"rendered"}';

/**
 * Renders a probe program through the embedded Worker script and binary, as the
 * shipped CLI will (`eval`, the module compiled here and handed over): a build
 * whose sandbox cannot render fails here instead of at a user's `kubectl package diff`.
 */
export async function checkEmbeddedSandbox(workerScript: string, interpreter: Uint8Array): Promise<void> {
  const limits = renderLimits({ timeoutMs: 60_000 });
  const task: WorkerTask = {
    source: PROBE_PROGRAM, call: { method: 'render', input: '{}' }, limits, deadline: Date.now() + limits.timeoutMs,
    wasmModule: await wasm.compile(interpreter),
  };
  const worker = new Worker(workerScript, { eval: true, workerData: task, env: {}, stdout: true, stderr: true });
  try {
    const reply = await new Promise<WorkerReply | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`no answer within ${limits.timeoutMs} ms`)), limits.timeoutMs);
      const settle = (r: WorkerReply | Error): void => { clearTimeout(timer); resolve(r); };
      worker.once('message', settle);
      worker.once('error', settle);
      worker.once('exit', (code) => settle(new Error(`the Worker exited (code ${code})`)));
    });
    const fault = reply instanceof Error ? reply.message
      : !reply.ok ? `${reply.reason}: ${reply.message}`
        : reply.output === PROBE_OUTPUT ? undefined : `it returned ${reply.output}`;
    if (fault !== undefined) throw new ShippedBundleError(`the embedded render sandbox does not render a program: ${fault}`);
  } finally {
    await worker.terminate();
  }
}

/**
 * The shipped builds carry the render sandbox inside the bundle (a single
 * executable has no files beside it): the module that points at the Worker's file
 * and the QuickJS binary is replaced by one that holds both. `embedded()` says
 * whether the bundle needed it, so a build can refuse one that renders without it.
 */
export function embedRenderSandbox(): { readonly plugin: esbuild.Plugin; readonly embedded: () => boolean } {
  let embedded = false;
  const plugin: esbuild.Plugin = {
    name: 'trellis-embedded-render-sandbox',
    setup(build) {
      build.onLoad({ filter: /[\\/]apply-controller[\\/]program[\\/]sandbox-files\.ts$/ }, async (args) => {
        if (relative(projectRoot, args.path) !== SANDBOX_FILES_MODULE) return undefined;
        const { workerScript, interpreter } = await sandboxToEmbed();
        embedded = true;
        return {
          loader: 'js',
          contents: `/** The render sandbox, embedded by hack/build-cli.ts (see ${SANDBOX_FILES_MODULE}). */\n`
            + `const workerScript = ${JSON.stringify(workerScript)};\n`
            + `const interpreterBase64 = ${JSON.stringify(Buffer.from(interpreter).toString('base64'))};\n`
            + 'export function sandboxWorkerScript() {\n  return { script: workerScript, eval: true };\n}\n'
            + "export async function interpreterBinary() {\n  return Buffer.from(interpreterBase64, 'base64');\n}\n",
        };
      });
    },
  };
  return { plugin, embedded: () => embedded };
}

/** Bundles one shipped command into a CommonJS file; returns its text. */
export async function bundleCommand(command: ShippedCommand, opts: { readonly banner?: string } = {}): Promise<string> {
  const sandbox = embedRenderSandbox();
  const result = await esbuild.build({
    entryPoints: [join(projectRoot, ENTRIES[command])],
    absWorkingDir: projectRoot,
    bundle: true,
    platform: 'node',
    // Single executables run CommonJS only; the npm package uses the same bundles.
    format: 'cjs',
    target: `node${NPM_NODE_MAJOR}`,
    write: false,
    outfile: `${command}.cjs`,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'inline',
    plugins: [substitutes, embedUiAssets, sandbox.plugin],
    ...(opts.banner !== undefined ? { banner: { js: opts.banner } } : {}),
  });
  const tooling = Object.keys(result.metafile.inputs).filter((input) => /^(hack|test|bench)\//.test(input));
  if (tooling.length > 0) {
    throw new ShippedBundleError(`the ${command} bundle would contain development tooling: ${tooling.join(', ')}; `
      + 'the module that imports it must not be part of the shipped CLI (see cli/bin/checkout-commands.ts)');
  }
  const renders = Object.keys(result.metafile.inputs).includes(RENDER_MODULE);
  if (renders && !sandbox.embedded()) {
    throw new ShippedBundleError(`the ${command} bundle renders package programs (${RENDER_MODULE}) but does not carry their sandbox: `
      + `${SANDBOX_FILES_MODULE} was not replaced by the embedded one`);
  }
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild wrote no output for ${command}`);
  return output.text;
}

/** The first lines of an npm bin: the shebang, and a clear refusal on a Node.js that is too old. */
function npmBanner(command: ShippedCommand): string {
  return [
    '#!/usr/bin/env node',
    // First, so the bundle (which says it again below) stays strict code.
    "'use strict';",
    `if (Number(process.versions.node.split('.')[0]) < ${NPM_NODE_MAJOR}) {`,
    `  process.stderr.write('${command} needs Node.js ${NPM_NODE_MAJOR} or later; this is ' + process.version + '\\n');`,
    '  process.exit(1);',
    '}',
  ].join('\n');
}

/** Writes the npm package into `dir` (replacing it) and returns its package.json path. */
export async function buildNpmPackage(dir: string): Promise<string> {
  const root = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'bin'), { recursive: true });
  const bin: Record<string, string> = {};
  for (const command of Object.keys(ENTRIES) as ShippedCommand[]) {
    const file = join('bin', `${command}.cjs`);
    await writeFile(join(dir, file), await bundleCommand(command, { banner: npmBanner(command) }), { mode: 0o755 });
    bin[command] = file;
  }
  // Every dependency is inside the bundles: the published package has none.
  const manifest = {
    name: root.name, version: root.version, description: root.description, license: root.license,
    bin, files: ['bin/', 'README.md'], engines: { node: `>=${NPM_NODE_MAJOR}` },
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await copyFile(join(projectRoot, 'README.md'), join(dir, 'README.md'));
  return join(dir, 'package.json');
}

/** Options for {@link buildExecutable}. */
export interface BuildExecutableOptions {
  /** The Node binary to inject into (default: this process's). */
  readonly node?: string;
  /** Folder for the intermediate bundle, configuration and blob. */
  readonly workDir: string;
  readonly log?: (line: string) => void;
}

/**
 * Builds the single executable of `command` at `out`. Skipped when `out` was built
 * from the same bundle and Node binary (a `.sha256` stamp next to it): copying and
 * injecting 120 MB takes seconds.
 */
export async function buildExecutable(command: ShippedCommand, out: string, opts: BuildExecutableOptions): Promise<{ readonly built: boolean }> {
  const node = opts.node ?? process.execPath;
  const bundle = await bundleCommand(command);
  const stamp = createHash('sha256').update(bundle).update('\0').update(node).update('\0').update(process.version).digest('hex');
  const stampFile = `${out}.sha256`;
  const upToDate = (await readFile(stampFile, 'utf8').catch(() => '')) === stamp
    && await access(out).then(() => true, () => false);
  if (upToDate) return { built: false };
  await mkdir(opts.workDir, { recursive: true });
  const main = join(opts.workDir, `${command}.cjs`);
  const blob = join(opts.workDir, `${command}.blob`);
  const config = join(opts.workDir, `${command}.sea.json`);
  await writeFile(main, bundle);
  await writeFile(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true }));
  opts.log?.(`${command}: preparing the single-executable blob`);
  await run(node, ['--experimental-sea-config', config], { cwd: opts.workDir });
  const partial = `${out}.partial`;
  await mkdir(join(out, '..'), { recursive: true });
  await rm(partial, { force: true });
  await copyFile(node, partial);
  await chmod(partial, 0o755);
  opts.log?.(`${command}: injecting it into a copy of ${node}`);
  await run(node, [join(projectRoot, 'node_modules', 'postject', 'dist', 'cli.js'), partial, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE],
    { maxBuffer: 16 * 1024 * 1024 });
  await rm(out, { force: true });
  await copyFile(partial, out);
  await chmod(out, 0o755);
  await rm(partial, { force: true });
  await writeFile(stampFile, stamp);
  return { built: true };
}

/** Options for {@link buildCli}. */
export interface BuildCliOptions {
  /** Default `dist/` of the project. */
  readonly outDir?: string;
  readonly npm?: boolean;
  readonly sea?: boolean;
  readonly log?: (line: string) => void;
}

/** What {@link buildCli} produced. */
export interface BuiltCli {
  /** `<out>/npm`, when built. */
  readonly npmDir?: string;
  /** `<out>/bin/<command>`, when built. */
  readonly executables?: Readonly<Record<ShippedCommand, string>>;
}

/** Builds the npm package and/or the single executables under `outDir`. */
export async function buildCli(opts: BuildCliOptions = {}): Promise<BuiltCli> {
  const outDir = opts.outDir ?? join(projectRoot, 'dist');
  const log = opts.log ?? ((line: string): void => { process.stderr.write(`[build-cli] ${line}\n`); });
  let npmDir: string | undefined;
  let executables: Record<ShippedCommand, string> | undefined;
  if (opts.npm ?? true) {
    npmDir = join(outDir, 'npm');
    await buildNpmPackage(npmDir);
    log(`npm package: ${npmDir} (npm pack ${relative(process.cwd(), npmDir) || '.'})`);
  }
  if (opts.sea ?? true) {
    executables = { 'trellis': join(outDir, 'bin', 'trellis'), 'kubectl-package': join(outDir, 'bin', 'kubectl-package') };
    for (const command of Object.keys(executables) as ShippedCommand[]) {
      const { built } = await buildExecutable(command, executables[command], { workDir: join(outDir, 'sea'), log });
      log(`${executables[command]}${built ? '' : ' (up to date)'}`);
    }
  }
  return { ...(npmDir !== undefined ? { npmDir } : {}), ...(executables !== undefined ? { executables } : {}) };
}

// Run only as the entry point (hack/bootstrap.mjs imports it with argv[1] set to this file), not when imported.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const outDir = outAt >= 0 ? args[outAt + 1] : undefined;
  const named = args.includes('--npm') || args.includes('--sea');
  try {
    await buildCli({
      ...(outDir !== undefined ? { outDir } : {}),
      npm: !named || args.includes('--npm'),
      sea: !named || args.includes('--sea'),
    });
  } catch (err) {
    process.stderr.write(`[build-cli] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
