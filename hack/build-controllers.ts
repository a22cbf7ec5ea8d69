/**
 * `npm run build:controllers`: the controllers as they ship — one ES module per
 * controller (`apply-controller.mjs`, `source-controller.mjs`), esbuild bundles
 * of the entry point with every dependency inlined and tree-shaken, and the
 * program render sandbox (Worker script and QuickJS binary) embedded as in the
 * shipped CLI (hack/build-cli.ts).
 *
 * Why bundles: run from sources, Node loads each module of the import graph —
 * `@kubernetes/client-node`'s `KubeConfig` alone pulls in its whole generated API —
 * and strips the TypeScript types of ours, which costs the apply controller
 * about 80 MiB of resident memory before it does any work (docs/performance.md).
 *
 * The image (`trellis image build`) runs this script in the checkout it builds
 * from, and the benchmark starts the controllers from the same bundles, so what
 * is measured is what ships. Beside the bundles, `controllers.json` names the
 * bundle files (the image copies what it lists) and the project modules and npm
 * package folders they hold (from esbuild's metafile), for the image's bill of
 * materials.
 *
 * `node hack/build-controllers.ts --out DIR` (default `dist/controllers`).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { embedRenderSandbox, RENDER_MODULE, SANDBOX_FILES_MODULE, ShippedBundleError } from './build-cli.ts';
import { projectRoot } from './lib/system-tools.ts';

/** Each controller's bundle file and the entry point it is built from. */
export const CONTROLLER_BUNDLES = {
  'apply-controller.mjs': 'apply-controller/main.ts',
  'source-controller.mjs': 'source-controller/main.ts',
} as const;

/** What `controllers.json` says about the bundles. */
export interface ControllerBundlesManifest {
  /** The bundle files beside it, in the order of {@link CONTROLLER_BUNDLES}. */
  readonly bundles: readonly string[];
  /** Project-relative modules inside any bundle, sorted. */
  readonly modules: readonly string[];
  /** Folders of npm packages with code inside any bundle (`node_modules/a`, `node_modules/a/node_modules/b`), sorted. */
  readonly packages: readonly string[];
}

/**
 * CommonJS dependencies inside an ES module bundle still call `require` and read
 * `__filename`/`__dirname`: give them what Node gives a CommonJS module.
 */
const COMMONJS_SHIMS = [
  "import { createRequire as __trellisCreateRequire } from 'node:module';",
  "import { fileURLToPath as __trellisFileURLToPath } from 'node:url';",
  'const require = __trellisCreateRequire(import.meta.url);',
  'const __filename = __trellisFileURLToPath(import.meta.url);',
  "const __dirname = __trellisFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** The folder of the npm package a metafile input belongs to, or undefined for the project's own modules. */
export function packageFolderOf(input: string): string | undefined {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
}

/** Marks what an import resolved to, so the plugin below does not resolve it again. */
const RESOLVED_HERE = Symbol('resolved by the development-dependency plugin');

/**
 * npm installs development dependencies in a checkout, not in production. Some
 * packages `require` one when it is there (in a `try`: `debug` asks for
 * `supports-color`): bundled, it would ship what the controllers do not depend
 * on. Such an import stays external, so the bundle behaves as a production
 * install does (the `require` fails and the package carries on); the
 * controllers' own modules importing one is an error.
 */
async function leaveOutDevelopmentDependencies(): Promise<esbuild.Plugin> {
  const lock = (JSON.parse(await readFile(join(projectRoot, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { dev?: boolean }>;
  }).packages ?? {};
  return {
    name: 'trellis-no-development-dependencies',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVED_HERE || args.path.startsWith('node:')) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVED_HERE,
        });
        if (resolved.errors.length > 0 || resolved.external) return undefined;
        const folder = packageFolderOf(relative(projectRoot, resolved.path));
        if (folder === undefined || lock[folder]?.dev !== true) {
          return { path: resolved.path, namespace: resolved.namespace, sideEffects: resolved.sideEffects };
        }
        if (packageFolderOf(relative(projectRoot, args.importer)) === undefined) {
          return { errors: [{ text: `${relative(projectRoot, args.importer)} imports ${args.path}, a development dependency` }] };
        }
        return { path: args.path, external: true };
      });
    },
  };
}

/** Bundles one controller; returns its text and the metafile's inputs. */
async function bundleController(entry: string): Promise<{ readonly text: string; readonly inputs: readonly string[] }> {
  const sandbox = embedRenderSandbox();
  const result = await esbuild.build({
    entryPoints: [join(projectRoot, entry)],
    absWorkingDir: projectRoot,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    outfile: 'controller.mjs',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'inline',
    banner: { js: COMMONJS_SHIMS },
    // A checkout whose node_modules is a symlink (the image test's snapshot) still names packages by their folder in it.
    preserveSymlinks: true,
    plugins: [await leaveOutDevelopmentDependencies(), sandbox.plugin],
  });
  const inputs = Object.keys(result.metafile.inputs);
  const tooling = inputs.filter((input) => /^(hack|test|bench|cli|packages-cdk8s)\//.test(input));
  if (tooling.length > 0) throw new ShippedBundleError(`the ${entry} bundle would contain modules above the controllers: ${tooling.join(', ')}`);
  if (inputs.includes(RENDER_MODULE) && !sandbox.embedded()) {
    throw new ShippedBundleError(`the ${entry} bundle renders package programs but ${SANDBOX_FILES_MODULE} was not replaced by the embedded sandbox`);
  }
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild wrote no output for ${entry}`);
  return { text: asciiOnly(output.text), inputs };
}

/**
 * The bundle with every non-ASCII character written as a `\uXXXX` escape.
 * esbuild escapes them in code already, but not in the comments it keeps
 * (`Jimmy Wärting`, `response’s`); one such character makes V8 hold the whole
 * source, which it keeps for lazy compilation, at two bytes per character:
 * 12 MiB of the apply controller's heap instead of 6. In a comment the escape is
 * plain text.
 */
export function asciiOnly(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes both bundles and `controllers.json` into `outDir` (replacing it); returns the manifest. */
export async function buildControllers(outDir: string): Promise<ControllerBundlesManifest> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const modules = new Set<string>();
  const packages = new Set<string>();
  for (const [file, entry] of Object.entries(CONTROLLER_BUNDLES)) {
    const { text, inputs } = await bundleController(entry);
    await writeFile(join(outDir, file), text);
    for (const input of inputs) {
      const folder = packageFolderOf(input);
      if (folder !== undefined) packages.add(folder);
      else modules.add(input);
    }
  }
  const manifest: ControllerBundlesManifest = {
    bundles: Object.keys(CONTROLLER_BUNDLES), modules: [...modules].sort(), packages: [...packages].sort(),
  };
  await writeFile(join(outDir, 'controllers.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

// Run only as the entry point, not when imported.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const outDir = resolve(outAt >= 0 ? args[outAt + 1] ?? '' : join(projectRoot, 'dist', 'controllers'));
  try {
    const manifest = await buildControllers(outDir);
    process.stderr.write(`[build-controllers] ${relative(process.cwd(), outDir) || '.'}: ${Object.keys(CONTROLLER_BUNDLES).join(', ')} `
      + `(${manifest.modules.length} modules, ${manifest.packages.length} npm packages)\n`);
  } catch (err) {
    process.stderr.write(`[build-controllers] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
