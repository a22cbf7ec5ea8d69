/**
 * What every `package` subcommand shares: the kubectl-style flags (`-n`, `-A`,
 * `--kubeconfig`, `--context`, `-o`, `-l`, `-w`), the terminal it writes to, the
 * clock, and one way of turning an error into a message (naming the API server
 * when it could not be reached) and an exit code. Subcommands get
 * a {@link CommandIO} instead of reaching for process globals, so tests run them
 * in-process against a real apiserver and read exactly what was printed.
 */
import { CommanderError, Option, type Command } from 'commander';
import { labelSelectorFlag } from '../../runtime/flags.ts';
import { connect, type KubeFlags, type KubeTarget } from '../kube.ts';
import { describeError, exitCodeOf, ExitStatus, unreachableServer } from './errors.ts';
import { outputFormatParser, OUTPUT_FORMATS, processTerminal, type OutputFormat, type OutputKind, type Terminal } from './output.ts';

/** The process-level things a command uses. */
export interface CommandIO {
  readonly term: Terminal;
  /** Environment (KUBECONFIG, DOCKER_CONFIG, NO_COLOR). */
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
  /** Called with the exit code when a command ends (default: sets process.exitCode). */
  readonly exit: (code: number) => void;
  /** Ends a `--watch` (default: never; the process ends on Ctrl-C). */
  readonly signal?: AbortSignal | undefined;
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
  /** `-l`, `--selector` */
  readonly selector?: string;
  /** `-w`, `--watch` */
  readonly watch?: boolean;
}

/** Options for {@link withClusterFlags}. */
export interface ClusterFlagOptions {
  /** Add `-A, --all-namespaces`. */
  readonly allNamespaces?: boolean;
  /** Add `-o, --output` with this default. */
  readonly output?: OutputFormat;
  /** The `-o` formats the command supports (default all). */
  readonly formats?: readonly OutputKind[];
  /** Add `-l, --selector` and `-w, --watch`. */
  readonly selectAndWatch?: boolean;
}

/** Adds `-n`, `--kubeconfig`, `--context` (and optionally `-A`, `-o`, `-l`, `-w`) to a command. */
export function withClusterFlags(cmd: Command, opts: ClusterFlagOptions = {}): Command {
  cmd.option('-n, --namespace <namespace>', 'namespace (default: the context\'s namespace, else "default")')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use');
  if (opts.allNamespaces) cmd.option('-A, --all-namespaces', 'list across all namespaces', false);
  if (opts.output) {
    const kinds = opts.formats ?? OUTPUT_FORMATS;
    cmd.addOption(new Option('-o, --output <format>', `output format: ${kinds.map((k) => (k === 'jsonpath' ? 'jsonpath=TEMPLATE' : k)).join(', ')}`)
      .argParser(outputFormatParser(kinds)).default(opts.output));
  }
  if (opts.selectAndWatch) {
    cmd.option('-l, --selector <selector>', 'only Packages with these labels (key=value, key!=value, key, !key, key in (a,b))', labelSelectorFlag)
      .option('-w, --watch', 'after printing, keep printing each change until interrupted', false);
  }
  return cmd;
}

/** The API server each IO's command talks to, so an error can name it. */
const servers = new WeakMap<CommandIO, string>();

/** Connects with the command's flags and the IO's environment. */
export function target(io: CommandIO, flags: KubeFlags): KubeTarget {
  const connected = connect(flags, io.env);
  const server = connected.kubeConfig.getCurrentCluster()?.server;
  if (server) servers.set(io, server);
  return connected;
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
    const server = servers.get(io);
    const unreachable = server === undefined ? undefined : unreachableServer(err, server);
    if (!(err instanceof ExitStatus)) io.term.err(`${unreachable ?? describeError(err)}\n`);
    const forced = errorExitCodes.get(io);
    io.exit(forced !== undefined && !(err instanceof ExitStatus) ? forced : exitCodeOf(err));
  }
}

const errorExitCodes = new WeakMap<CommandIO, number>();

/**
 * The IO for a command whose failures exit with `code` instead of 1 (`diff`,
 * where 1 means "there are changes"). Exit codes a command chose itself
 * ({@link ExitStatus}) are kept.
 */
export function withErrorExitCode(io: CommandIO, code: number): CommandIO {
  const scoped: CommandIO = { ...io };
  errorExitCodes.set(scoped, code);
  return scoped;
}

/** Exit codes for usage errors (a bad flag) of commands whose 1 means something else. */
const usageExitCodes = new WeakMap<Command, number>();

/** Makes usage errors of `cmd` exit with `code` (commander would use 1). */
export function usageErrorExitCode(cmd: Command, code: number): Command {
  usageExitCodes.set(cmd, code);
  return cmd.exitOverride(usageExitOverride(cmd));
}

/**
 * commander's exit hook for `cmd`: throws the CommanderError (so a caller can
 * turn it into an exit code), with the command's own usage-error code when it
 * has one. The processes' entry points catch it (see cli/trellis.ts).
 */
export function usageExitOverride(cmd: Command): (err: CommanderError) => never {
  return (err) => {
    const code = usageExitCodes.get(cmd);
    if (code !== undefined && err.exitCode !== 0) throw new CommanderError(code, err.code, err.message);
    throw err;
  };
}

/** The help text footer with examples, the same layout on every command. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
