/**
 * What every `package` subcommand shares: the kubectl-style flags (`-n`, `-A`,
 * `--kubeconfig`, `--context`, `-o`), the terminal it writes to, the clock, and
 * one way of turning an error into a message and an exit code. Subcommands get
 * a {@link CommandIO} instead of reaching for process globals, so tests run them
 * in-process against a real apiserver and read exactly what was printed.
 */
import { Option, type Command } from 'commander';
import { connect, type KubeFlags, type KubeTarget } from '../kube.ts';
import { describeError, exitCodeOf, ExitStatus } from './errors.ts';
import { parseOutputFormat, processTerminal, type OutputFormat, type Terminal } from './output.ts';

/** The process-level things a command uses. */
export interface CommandIO {
  readonly term: Terminal;
  /** Environment (KUBECONFIG, DOCKER_CONFIG, NO_COLOR). */
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
  /** Called with the exit code when a command ends (default: sets process.exitCode). */
  readonly exit: (code: number) => void;
}

/** The real process's IO. */
export function processIO(): CommandIO {
  return {
    term: processTerminal(),
    env: process.env,
    now: () => new Date(),
    exit: (code) => { process.exitCode = code; },
  };
}

/** Flags every cluster command has. */
export interface ClusterFlags extends KubeFlags {
  readonly allNamespaces?: boolean;
  readonly output?: OutputFormat;
}

/** Options for {@link withClusterFlags}. */
export interface ClusterFlagOptions {
  /** Add `-A, --all-namespaces`. */
  readonly allNamespaces?: boolean;
  /** Add `-o, --output` with this default. */
  readonly output?: OutputFormat;
}

/** Adds `-n`, `--kubeconfig`, `--context` (and optionally `-A`, `-o`) to a command. */
export function withClusterFlags(cmd: Command, opts: ClusterFlagOptions = {}): Command {
  cmd.option('-n, --namespace <namespace>', 'namespace (default: the context\'s namespace, else "default")')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use');
  if (opts.allNamespaces) cmd.option('-A, --all-namespaces', 'list across all namespaces', false);
  if (opts.output) {
    cmd.addOption(new Option('-o, --output <format>', 'output format: table, json or yaml')
      .argParser(parseOutputFormat).default(opts.output));
  }
  return cmd;
}

/** Connects with the command's flags and the IO's environment. */
export function target(io: CommandIO, flags: KubeFlags): KubeTarget {
  return connect(flags, io.env);
}

/**
 * Runs a command body: its errors are printed as one line on stderr (never a
 * stack) and become the exit code; success is exit code 0.
 */
export async function runAction(io: CommandIO, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    io.exit(0);
  } catch (err) {
    if (!(err instanceof ExitStatus)) io.term.err(`${describeError(err)}\n`);
    io.exit(exitCodeOf(err));
  }
}

/** The help text footer with examples, the same layout on every command. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
