/**
 * Compiling a package into a program bundle's program: esbuild bundles the
 * package file, its imports (cdk8s, cdk8s-plus, `cdk8s import` output, other
 * TypeScript: enums and namespaces work, as esbuild compiles rather than strips)
 * and the kit's sandbox entry into one script for the QuickJS sandbox
 * (apply-controller/program/). Node built-ins are replaced: `path` and `crypto`
 * by small pure versions, the rest by modules that throw a clear error when used.
 * The kit's build and test machinery is left out (its `index.ts` resolves to
 * `kit/sandbox/kit.ts`). The files the package declares are embedded in the
 * script, and `fs` and `child_process` keep the functions that read them
 * (kit/sandbox/fs.ts). esbuild is a build-time tool: nothing in the controller
 * needs it.
 */
import { realpathSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as EsbuildNamespace from 'esbuild';
import type { Plugin } from 'esbuild';

type EsbuildModule = typeof EsbuildNamespace;
import { programDigest } from '../../apply-controller/program/index.ts';
import type { EmbeddedFiles } from '../kit/sandbox/fs.ts';
import { unavailableModuleSource, type EmbeddedReaders } from '../kit/sandbox/unavailable.ts';
import { PackageBuildError } from './errors.ts';

/** Where the kit and its sandbox stand-ins are: the folders next to this module (a checkout). */
interface KitPaths {
  readonly kitIndex: string;
  readonly sandbox: string;
  readonly bundleIndex: string;
  /** The kit's own dependencies (cdk8s, cdk8s-plus, constructs): found when the package folder has none of its own. */
  readonly nodeModules: string;
  /** Built-ins with a working stand-in inside the sandbox. */
  readonly shims: Readonly<Record<string, string>>;
}

let kitPaths: KitPaths | undefined;

/**
 * The kit's paths, worked out on first use: a bundled CLI (CommonJS, no
 * `import.meta.url`) loads this module without compiling anything, and must not
 * fail while loading it.
 */
function kit(): KitPaths {
  if (kitPaths) return kitPaths;
  const root = realTarget(join(dirname(fileURLToPath(import.meta.url)), '..', 'kit'));
  const sandbox = join(root, 'sandbox');
  kitPaths = {
    kitIndex: join(root, 'index.ts'), sandbox,
    bundleIndex: resolve(root, '..', '..', 'apply-controller', 'bundle', 'index.ts'),
    nodeModules: resolve(root, '..', '..', 'node_modules'),
    shims: { path: join(sandbox, 'path.ts'), crypto: join(sandbox, 'crypto.ts') },
  };
  return kitPaths;
}

/** A compiled program. */
export interface CompiledProgram {
  /** The script (JavaScript, UTF-8). */
  readonly source: string;
  /** `sha256:<hex>` of {@link source}. */
  readonly digest: string;
}

function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The module holding the embedded files' view: `{fs, childProcess}` (kit/sandbox/fs.ts over the table). */
const EMBEDDED_MODULE = 'trellis:embedded-files';

/** The built-ins that keep their file-reading functions. */
const FILE_READERS: Readonly<Record<string, EmbeddedReaders['part']>> = { fs: 'fs', child_process: 'childProcess' };

function sandboxPlugin(files: EmbeddedFiles): Plugin {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const { shims, kitIndex, bundleIndex, sandbox } = kit();
  return {
    name: 'trellis-sandbox',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.path === EMBEDDED_MODULE) return { path: 'files', namespace: 'trellis-embedded' };
        const bare = args.path.replace(/^node:/, '');
        const shim = shims[bare];
        if (shim && builtins.has(args.path)) return { path: shim };
        if (builtins.has(args.path)) return { path: bare, namespace: 'trellis-unavailable' };
        if (!args.path.startsWith('.') && !isAbsolute(args.path)) return undefined;
        // Through symbolic links too: a package folder may link the kit in.
        const target = realTarget(resolve(args.resolveDir, args.path));
        if (target === kitIndex) return { path: join(sandbox, 'kit.ts') };
        if (target === bundleIndex) return { path: join(sandbox, 'bundle-constants.ts') };
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'trellis-unavailable' }, async (args) => {
        const real = await import(`node:${args.path}`).catch(() => ({})) as Record<string, unknown>;
        const part = FILE_READERS[args.path];
        const readers = part ? { embeddedModule: EMBEDDED_MODULE, part } : undefined;
        return { contents: unavailableModuleSource(args.path, Object.keys(real), readers), loader: 'js' };
      });
      build.onLoad({ filter: /.*/, namespace: 'trellis-embedded' }, () => ({
        contents: `const { embeddedFileView } = require('./fs.ts');\nmodule.exports = embeddedFileView(${JSON.stringify(files)});\n`,
        loader: 'js',
        resolveDir: sandbox,
      }));
    },
  };
}

/** Throws PackageBuildError(EntryNotFound) when the package file `entry` does not exist. */
export async function checkEntry(entry: string): Promise<void> {
  await access(entry).catch(() => {
    throw new PackageBuildError('EntryNotFound', `${entry} does not exist: a package folder needs a package.ts that default-exports definePackage({...})`);
  });
}

/** Options of {@link compileProgram}. */
export interface CompileOptions {
  /** The files to embed (embedded-files.ts collects them); none by default. */
  readonly files?: EmbeddedFiles;
}

/**
 * Compiles the package file `entry` (absolute) into a program. Throws
 * PackageBuildError(CompileFailed) with esbuild's messages (file, line, text).
 */
export async function compileProgram(entry: string, opts: CompileOptions = {}): Promise<CompiledProgram> {
  await checkEntry(entry);
  // Not a literal: the shipped CLI bundle must not try to take esbuild (a native tool) in.
  const esbuildModule = 'esbuild';
  const esbuild = await (import(esbuildModule) as Promise<EsbuildModule>).catch(() => {
    throw new PackageBuildError('CompileFailed', 'compiling a package needs esbuild, which is installed in a Trellis checkout (npm install)');
  });
  const dir = dirname(entry);
  const importPath = (file: string): string => {
    const rel = relative(dir, file).split(sep).join('/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  };
  const stdin = `import definition from ${JSON.stringify(importPath(entry))};\n`
    + `import { exposeProgram } from ${JSON.stringify(importPath(join(kit().sandbox, 'entry.ts')))};\n`
    + 'exposeProgram(definition);\n';
  let result;
  try {
    result = await esbuild.build({
      stdin: { contents: stdin, resolveDir: dir, sourcefile: 'trellis-program-entry.ts', loader: 'ts' },
      absWorkingDir: dir,
      nodePaths: [kit().nodeModules],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['main', 'module'],
      conditions: ['require', 'default'],
      // Identifiers too: the interpreter parses the whole script on every render, so size is time.
      minify: true,
      keepNames: false,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
      // The package folder is the sandbox's root: cdk8s' Include finds its loader script through __dirname.
      define: { 'process.env.NODE_ENV': '"production"', __dirname: '"/"' },
      plugins: [sandboxPlugin(opts.files ?? {})],
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
    const lines = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text));
    throw new PackageBuildError('CompileFailed', `compiling ${entry} failed:\n${lines.length > 0 ? lines.join('\n') : String(err)}`);
  }
  const source = result.outputFiles[0]?.text ?? '';
  return { source, digest: programDigest(source) };
}
