/**
 * Type-checking a package before it is compiled: esbuild strips types without
 * reading them, so a program that calls a cdk8s API wrongly would still build.
 * The TypeScript compiler of the checkout checks the package file and what it
 * imports (strict, libraries' own declarations skipped for time), and every
 * error is reported with its file, line and column.
 */
import { realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TypeScriptNamespace from 'typescript';
import { PackageBuildError } from './errors.ts';

type TypeScript = typeof TypeScriptNamespace;

/**
 * The kit's own dependencies (for packages without a node_modules of their own,
 * as compile.ts does), and the checkout folders whose type check is the
 * checkout's own. Worked out on first use: a bundled CLI loads this module
 * without `import.meta.url`.
 */
function checkoutPaths(): { readonly nodeModules: string; readonly checkedElsewhere: readonly string[] } {
  const nodeModules = resolve(realFile(dirname(fileURLToPath(import.meta.url))), '..', '..', 'node_modules');
  const checkout = resolve(nodeModules, '..');
  const checkedElsewhere = ['packages-cdk8s/kit/', 'packages-cdk8s/build/', 'apply-controller/', 'runtime/', 'node_modules/']
    .map((dir) => join(checkout, dir));
  return { nodeModules, checkedElsewhere };
}

/** At most this many diagnostics are shown. */
const SHOWN = 20;

function realFile(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Throws PackageBuildError(CompileFailed) listing the type errors of the package file `entry`. */
export async function typecheckPackage(entry: string): Promise<void> {
  const typescriptModule = 'typescript';
  const ts = ((await import(typescriptModule).catch(() => {
    throw new PackageBuildError('CompileFailed', 'type-checking a package needs typescript, which is installed in a Trellis checkout (or pass --no-typecheck)');
  })) as { default: TypeScript }).default;
  const { nodeModules, checkedElsewhere } = checkoutPaths();
  const program = ts.createProgram([entry], {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
    // Resolved the way esbuild resolves them (compile.ts), the kit's node_modules as the fallback.
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true, types: ['node'], lib: ['lib.es2023.d.ts'], typeRoots: [join(nodeModules, '@types')],
    paths: { '*': [join(nodeModules, '*')] },
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error
    && !(d.file && checkedElsewhere.some((dir) => realFile(d.file!.fileName).startsWith(dir))));
  if (diagnostics.length === 0) return;
  const base = dirname(entry);
  const lines = diagnostics.slice(0, SHOWN).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${relative(base, d.file.fileName)}:${line + 1}:${character + 1}: ${text}`;
  });
  const more = diagnostics.length > SHOWN ? `\n(${diagnostics.length - SHOWN} more)` : '';
  throw new PackageBuildError('CompileFailed', `${entry} does not type-check:\n${lines.join('\n')}${more}`);
}
