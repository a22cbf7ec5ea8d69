/**
 * `npm run build:kit`: the cdk8s authoring kit as an npm package of its own
 * (`@trellis/cdk8s-kit`), so a package outside this repository installs it with
 * types instead of importing the checkout by path. Writes `dist/kit/` and packs it
 * into `dist/trellis-cdk8s-kit-<version>.tgz`.
 *
 * The package has three parts, laid out as in the checkout because the kit's
 * compile step (packages-cdk8s/build/compile.ts) finds the sandbox sources by
 * their place next to its own module (`../kit/`):
 *
 * - `packages-cdk8s/lib/index.js`, `worker.js`: the kit for Node (ESM, one bundle;
 *   `definePackage`, `value`, `synth`, `render` ...) and the sandbox's Worker. The
 *   Node condition of `exports` points here: a test of the package uses it.
 * - `packages-cdk8s/kit/**.ts`: the TypeScript sources that go into a compiled
 *   program (the kit as a program sees it, `sandbox/kit.ts`, and what it imports).
 *   The `default` condition points at `sandbox/kit.ts`, so `trellis build` and the
 *   test helper's `render`, which resolve without the `node` condition, compile
 *   the sandbox's kit into the program and never the build machinery. Beside
 *   them, `apply-controller/bundle/index.ts` re-exports the kit's stand-in for the
 *   bundle library (see writeBundleStandIn).
 * - `types/**.d.ts`: declarations of the kit's index, from the TypeScript compiler.
 *
 * Dependencies are what the bundles import (their versions from this checkout's
 * package.json or node_modules); cdk8s, cdk8s-plus-33 and constructs are peers,
 * so the package's program and the kit share one cdk8s. Nothing of hack/, test/ or
 * bench/ may end up in the package: the build refuses it.
 *
 * `node hack/build-kit.ts [--out DIR] [--no-pack]`
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { projectRoot } from './lib/system-tools.ts';

const run = promisify(execFile);

/** The kit package's npm name. */
export const KIT_PACKAGE_NAME = '@trellis/cdk8s-kit';

/** Lowest Node.js major the kit runs on (it needs Node's TypeScript support for package files). */
const KIT_NODE_MAJOR = 24;

/** The kit's own folder, from the project root. */
const KIT_DIR = 'packages-cdk8s/kit';

/** Where the Node bundles go inside the package: a sibling of `kit/`, as compile.ts expects of its own module. */
const LIB_DIR = 'packages-cdk8s/lib';

/** The Node bundles: entry points from the project root, and their file in LIB_DIR. */
const NODE_ENTRIES = {
  index: `${KIT_DIR}/index.ts`,
  worker: 'apply-controller/program/worker.ts',
} as const;

/** The module that names the sandbox's Worker file, and that name (a `.ts` file Node does not run under node_modules). */
const WORKER_STARTER = 'apply-controller/program/sandbox-files.ts';
const WORKER_REFERENCE = "new URL('./worker.ts', import.meta.url)";

/** The program side of the kit: every module here is compiled into programs (entry.ts, kit.ts and the Node stand-ins). */
const SANDBOX_DIR = `${KIT_DIR}/sandbox`;

/** The bundle library's index: in a program the kit's imports of it resolve to `sandbox/bundle-constants.ts` (compile.ts). */
const BUNDLE_INDEX = 'apply-controller/bundle/index.ts';
const BUNDLE_STAND_IN = `${SANDBOX_DIR}/bundle-constants.ts`;

/** Packages the package's program and the kit must share: peers, not dependencies. */
const PEERS = ['cdk8s', 'cdk8s-plus-33', 'constructs'];

/** Packages the kit loads by a name esbuild cannot see (compile.ts imports esbuild by a computed name). */
const LOADED_BY_NAME = ['esbuild'];

/** Paths no file of the package may come from. */
const TOOLING = /^(hack|test|bench)\//;

/** The kit package could not be built as asked (a wrong input, or tooling that would ship). */
export class KitPackageError extends Error {
  override readonly name = 'KitPackageError';
}

/** What {@link buildKitPackage} produced. */
export interface BuiltKit {
  /** The package folder. */
  readonly dir: string;
  /** Its package.json, as written. */
  readonly manifest: KitManifest;
  /** Every file in it, relative to `dir`, sorted. */
  readonly files: readonly string[];
}

/** The package.json of the kit package. */
export interface KitManifest {
  readonly name: string;
  readonly version: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly peerDependencies: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

const posixPath = (path: string): string => path.split(sep).join('/');
const fromRoot = (path: string): string => posixPath(relative(projectRoot, path));

/** The npm package a bare import names (`@scope/name/sub` -> `@scope/name`), or undefined for built-ins and paths. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('node:')) return undefined;
  if (builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function refuseTooling(what: string, inputs: readonly string[]): void {
  const tooling = inputs.filter((input) => TOOLING.test(input));
  if (tooling.length > 0) {
    throw new KitPackageError(`the kit package's ${what} would contain development tooling: ${tooling.join(', ')}`);
  }
}

/** Renames the Worker file sandbox-files.ts names to the bundled `worker.js` (once, or the build fails). */
const bundledWorker: esbuild.Plugin = {
  name: 'trellis-kit-bundled-worker',
  setup(build) {
    build.onLoad({ filter: /[\\/]sandbox-files\.ts$/ }, async (args) => {
      if (fromRoot(args.path) !== WORKER_STARTER) return undefined;
      const source = await readFile(args.path, 'utf8');
      const uses = source.split(WORKER_REFERENCE).length - 1;
      if (uses !== 1) {
        throw new KitPackageError(`${WORKER_STARTER} should start its Worker with ${WORKER_REFERENCE} once, found ${uses}: update hack/build-kit.ts`);
      }
      return { loader: 'ts', contents: source.replace(WORKER_REFERENCE, "new URL('./worker.js', import.meta.url)") };
    });
  },
};

/** Bundles the kit for Node and the sandbox's Worker into `libDir`; returns the npm packages they import. */
async function bundleForNode(libDir: string): Promise<Set<string>> {
  const result = await esbuild.build({
    entryPoints: Object.entries(NODE_ENTRIES).map(([out, input]) => ({ out, in: join(projectRoot, input) })),
    absWorkingDir: projectRoot,
    outdir: libDir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: `node${KIT_NODE_MAJOR}`,
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'inline',
    plugins: [bundledWorker],
  });
  refuseTooling('Node bundle', Object.keys(result.metafile.inputs));
  const imported = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const i of output.imports) {
      const name = i.external ? packageOf(i.path) : undefined;
      if (name !== undefined) imported.add(name);
    }
  }
  // Modules found at run time by import.meta.resolve (the QuickJS wasm file): esbuild leaves those alone.
  for (const file of Object.keys(result.metafile.outputs)) {
    const text = await readFile(join(projectRoot, file), 'utf8');
    for (const m of text.matchAll(/import\.meta\.resolve\(\s*["']([^"']+)["']\s*\)/g)) {
      const name = packageOf(m[1]!);
      if (name !== undefined) imported.add(name);
    }
  }
  for (const name of LOADED_BY_NAME) imported.add(name);
  return imported;
}

/**
 * The TypeScript sources a compiled program can take in from the kit: every
 * module of sandbox/ and what they import, with the bundle library's index
 * standing in as compile.ts makes it. Returns paths from the project root.
 */
async function programSources(): Promise<string[]> {
  const sandbox = join(projectRoot, SANDBOX_DIR);
  const entries = (await readdir(sandbox)).filter((f) => f.endsWith('.ts')).map((f) => join(sandbox, f));
  const result = await esbuild.build({
    entryPoints: entries,
    absWorkingDir: projectRoot,
    outdir: join(projectRoot, 'dist', 'kit-sources-unwritten'),
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    packages: 'external',
    external: builtinModules.flatMap((m) => [m, `node:${m}`]),
    metafile: true,
    logLevel: 'silent',
    plugins: [{
      name: 'trellis-kit-bundle-stand-in',
      setup(build) {
        build.onResolve({ filter: /bundle[\\/]index\.ts$/ }, (args) => (
          fromRoot(resolve(args.resolveDir, args.path)) === BUNDLE_INDEX ? { path: join(projectRoot, BUNDLE_STAND_IN) } : undefined));
      },
    }],
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  refuseTooling('program sources', inputs);
  const outside = inputs.filter((input) => !input.startsWith(`${KIT_DIR}/`));
  if (outside.length > 0) throw new KitPackageError(`a program would take in sources from outside ${KIT_DIR}/: ${outside.join(', ')}`);
  return inputs;
}

/**
 * Writes `apply-controller/bundle/index.ts` into the package as a re-export of the
 * kit's stand-in for it. The kit's own compile step resolves the kit's imports of
 * that path to the stand-in without reading it; a `trellis build` from a checkout
 * compares them with the checkout's path instead, and then reads this file.
 */
async function writeBundleStandIn(dir: string): Promise<void> {
  const file = join(dir, BUNDLE_INDEX);
  const target = posixPath(relative(dirname(file), join(dir, BUNDLE_STAND_IN)));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, '/** The bundle library as a compiled program sees it: the kit\'s stand-in (see hack/build-kit.ts). */\n'
    + `export * from '${target}';\n`);
}

/** Rewrites relative `.ts` module specifiers of a declaration file to `.js`, which TypeScript maps to the `.d.ts`. */
function declarationSpecifiers(text: string): string {
  return text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g, '$1$2.js$3');
}

/** Writes the declarations of the kit's index (and of what its types name) under `typesDir`; returns their paths from it. */
function writeDeclarations(typesDir: string): Map<string, string> {
  const configFile = ts.readConfigFile(join(projectRoot, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  if (configFile.error) throw new KitPackageError(ts.flattenDiagnosticMessageText(configFile.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, projectRoot);
  const options: ts.CompilerOptions = {
    ...parsed.options, noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: typesDir, rootDir: projectRoot,
  };
  const program = ts.createProgram([join(projectRoot, NODE_ENTRIES.index)], options);
  const written = new Map<string, string>();
  const emitted = program.emit(undefined, (file, text) => {
    written.set(posixPath(relative(typesDir, file)), declarationSpecifiers(text));
  });
  // Only what stops declarations: type errors in the sources are `npm run typecheck`'s to report.
  const errors = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    throw new KitPackageError(`the kit's declarations failed:\n${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n')}`);
  }
  const reachable = reachableDeclarations(written, `${KIT_DIR}/index.d.ts`);
  refuseTooling('declarations', [...reachable.keys()].map((f) => f.replace(/\.d\.ts$/, '.ts')));
  return reachable;
}

/** Module specifiers a declaration file imports or re-exports. */
function specifiersOf(text: string): string[] {
  return [...text.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)["']([^"']+)["']/g)].map((m) => m[1]!);
}

/** What a barrel declaration file (`export { a, type B } from './x.js'` lines) re-exports: name -> specifier. */
function barrelExports(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of text.matchAll(/export\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']/g)) {
    for (const entry of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean)) {
      if (!entry.includes(' as ')) names.set(entry, m[2]!);
    }
  }
  return names;
}

/**
 * `text` (the declarations of `file`) with each import from a barrel replaced by
 * imports from the modules that declare the names: the bundle library's index
 * re-exports the whole controller, which the kit's types never name.
 */
function importsPastBarrels(all: ReadonlyMap<string, string>, file: string, text: string): string {
  return text.replace(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*["'](\.{1,2}\/[^"']+)["'];/g, (statement, typeOnly: string | undefined, list: string, spec: string) => {
    const barrel = posixPath(join(dirname(file), spec.replace(/\.js$/, '.d.ts')));
    const exported = barrelExports(all.get(barrel) ?? '');
    const names = list.split(',').map((n) => n.trim()).filter(Boolean);
    const byModule = new Map<string, string[]>();
    for (const name of names) {
      const from = exported.get(name.replace(/^type\s+/, ''));
      if (from === undefined || name.includes(' as ')) return statement;
      const target = posixPath(relative(dirname(file), join(dirname(barrel), from)));
      byModule.set(target.startsWith('.') ? target : `./${target}`, [...(byModule.get(target) ?? []), name]);
    }
    return [...byModule].map(([target, imported]) => `import ${typeOnly ?? ''}{ ${imported.join(', ')} } from '${target}';`).join('\n');
  });
}

/**
 * The declarations `entry` reaches through its relative imports: the compiler
 * writes one for every module of its program, most of which (the controllers'
 * internals) no type of the kit names.
 */
function reachableDeclarations(all: ReadonlyMap<string, string>, entry: string): Map<string, string> {
  const reached = new Map<string, string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const text = all.get(file);
    if (text === undefined) throw new KitPackageError(`the kit's declarations name ${file}, which the compiler did not write`);
    if (reached.has(file)) continue;
    const direct = importsPastBarrels(all, file, text);
    reached.set(file, direct);
    for (const spec of specifiersOf(direct).filter((s) => s.startsWith('.'))) {
      pending.push(posixPath(join(dirname(file), spec.replace(/\.js$/, '.d.ts'))));
    }
  }
  return reached;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** The version range of `name`: this checkout's package.json range, else `^` the installed version. */
async function rangeOf(name: string, declared: Readonly<Record<string, string>>): Promise<string> {
  const range = declared[name];
  if (range !== undefined) return range;
  const installed = await readJson(join(projectRoot, 'node_modules', name, 'package.json')).catch(() => undefined);
  if (typeof installed?.version !== 'string') {
    throw new KitPackageError(`the kit imports ${name}, which is neither in package.json nor installed (npm install)`);
  }
  return `^${installed.version}`;
}

/** Builds the kit package into `dir` (replaced). */
export async function buildKitPackage(dir: string): Promise<BuiltKit> {
  const root = await readJson(join(projectRoot, 'package.json'));
  const declared = { ...(root.devDependencies as Record<string, string>), ...(root.dependencies as Record<string, string>) };
  if (typeof root.version !== 'string') throw new KitPackageError('package.json has no version');
  const sources = await programSources();

  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const imported = await bundleForNode(join(dir, LIB_DIR));
  for (const source of sources) {
    await mkdir(dirname(join(dir, source)), { recursive: true });
    await copyFile(join(projectRoot, source), join(dir, source));
  }
  await writeBundleStandIn(dir);
  const typesDir = join(dir, 'types');
  for (const [file, text] of writeDeclarations(typesDir)) {
    await mkdir(dirname(join(typesDir, file)), { recursive: true });
    await writeFile(join(typesDir, file), text);
  }

  const dependencies: Record<string, string> = {};
  const peerDependencies: Record<string, string> = {};
  for (const name of PEERS) peerDependencies[name] = await rangeOf(name, declared);
  for (const name of [...imported].sort()) {
    if (!PEERS.includes(name)) dependencies[name] = await rangeOf(name, declared);
  }
  const types = `./types/${KIT_DIR}/index.d.ts`;
  const manifest: KitManifest = {
    name: KIT_PACKAGE_NAME,
    version: root.version,
    description: 'The Trellis authoring kit for cdk8s packages: typed values, phases, and a test helper that renders in the sandbox the cluster uses.',
    license: root.license,
    type: 'module',
    engines: { node: `>=${KIT_NODE_MAJOR}` },
    types,
    exports: {
      '.': { types, node: `./${LIB_DIR}/index.js`, default: `./${SANDBOX_DIR}/kit.ts` },
      './package.json': './package.json',
    },
    files: ['packages-cdk8s/', 'apply-controller/', 'types/', 'README.md'],
    dependencies,
    peerDependencies,
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await copyFile(join(projectRoot, 'packages-cdk8s', 'kit', 'README.md'), join(dir, 'README.md'));
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile()).map((e) => posixPath(relative(dir, join(e.parentPath, e.name)))).sort();
  return { dir, manifest, files };
}

/** Packs the package folder `dir` with `npm pack` into `destination`; returns the tarball's path. */
export async function packKitPackage(dir: string, destination: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  await mkdir(destination, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: dir, env });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new KitPackageError(`npm pack wrote nothing for ${dir}`);
  return join(destination, packed.filename);
}

// Run only as the entry point (hack/bootstrap.mjs imports it with argv[1] set to this file), not when imported.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const outDir = resolve(outAt >= 0 && args[outAt + 1] !== undefined ? args[outAt + 1]! : join(projectRoot, 'dist'));
  const log = (line: string): void => { process.stderr.write(`[build-kit] ${line}\n`); };
  try {
    const built = await buildKitPackage(join(outDir, 'kit'));
    log(`${built.manifest.name}@${built.manifest.version}: ${built.dir} (${built.files.length} files)`);
    if (!args.includes('--no-pack')) log(`tarball: ${await packKitPackage(built.dir, outDir)}`);
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
