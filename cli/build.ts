/**
 * `trellis build <dir> [-o bundle.tgz] [--prerendered]`: compiles the package in
 * `<dir>` into a program bundle (the program, its values schema and its output for
 * the defaults; the cluster renders it with the installed values in a sandbox), or
 * with `--prerendered` runs it once in a child process and writes manifests with
 * placements. Either way the bundle is validated as the apply controller would and
 * written as a deterministic tarball; prints its path, digest and size.
 */
import { Command } from 'commander';
import { buildBundle, type BuiltBundle } from '../packages-cdk8s/build/bundle.ts';
import { formatBytes } from './progress.ts';

/** Options of `trellis build`. */
export interface BuildCommandOptions {
  readonly output?: string;
  readonly entry?: string;
  readonly prerendered?: boolean;
  /** commander's `--no-typecheck` sets it false. */
  readonly typecheck?: boolean;
}

const say = (line: string): void => { process.stderr.write(`${line}\n`); };

/** Prints the program's output lines with a prefix, so they are told apart from trellis's own. */
export function programOutput(line: string): void {
  process.stderr.write(`[package] ${line}\n`);
}

/**
 * Reports a failed command as `error: <message>` on stderr and sets exit code 1,
 * instead of a stack trace: the messages of the build, OCI and bundle errors are
 * written for people.
 */
export function failCommand(err: unknown): void {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

/** Describes a built bundle in one line. */
export function describeBuilt(b: BuiltBundle, opts: { file?: boolean } = {}): string {
  const placements = b.manifest.values.placements.length;
  const how = b.manifest.program ? 'a program' : `${placements} placement${placements === 1 ? '' : 's'}`;
  return `built ${b.manifest.name} ${b.manifest.version}: ${b.objects} object${b.objects === 1 ? '' : 's'} in `
    + `${b.manifest.phases.length} phase${b.manifest.phases.length === 1 ? '' : 's'}, ${how}`
    + `${opts.file === false ? '' : ` -> ${b.file}`} (${formatBytes(b.size)}, ${b.digest})`;
}

/** Runs `trellis build`; returns the bundle. */
export async function runBuild(dir: string, opts: BuildCommandOptions): Promise<BuiltBundle> {
  const built = await buildBundle(dir, {
    ...(opts.output !== undefined ? { out: opts.output } : {}),
    ...(opts.entry !== undefined ? { entry: opts.entry } : {}),
    ...(opts.prerendered ? { prerendered: true } : {}),
    ...(opts.typecheck !== false && !opts.prerendered ? { typecheck: true } : {}),
    onOutput: programOutput,
  });
  for (const v of built.unusedValues) say(`warning: value ${v} is declared but used nowhere`);
  say(describeBuilt(built));
  process.stdout.write(`${built.digest}\n`);
  return built;
}

/** The `build` subcommand. */
export function buildCommand(): Command {
  return new Command('build')
    .description('build a cdk8s package into a deterministic, validated program bundle tarball')
    .argument('<dir>', 'the package folder (with package.ts)')
    .option('-o, --output <file>', 'the tarball to write (default <name>-<version>.tgz)')
    .option('--entry <file>', 'the package program, relative to <dir>', 'package.ts')
    .option('--no-typecheck', 'skip type-checking the package with TypeScript (esbuild compiles without reading types)')
    .option('--prerendered', 'run the program once now and ship manifests with placements (no branching on values, no lists or maps)')
    .addHelpText('after', '\nExample:\n  trellis build packages-cdk8s/examples/web -o web.tgz')
    .action(async (dir: string, o: BuildCommandOptions) => { await runBuild(dir, o).catch(failCommand); });
}
