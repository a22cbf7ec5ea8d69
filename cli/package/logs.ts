/**
 * `kubectl package logs NAME`: the controllers' log lines about one Package and
 * its source, from every running Pod of both controllers (the installation's
 * namespace, `trellis-system` by default), merged in time order. The controllers
 * log JSON with the object's `kind` and `key` on every line about it, so the
 * lines are picked by those fields, never by searching the text.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError } from './errors.ts';
import { paint, type Color } from './format.ts';
import { readPackage } from './list.ts';
import { sourceRefOf } from './reconcile.ts';
import { CONTROLLERS, DEFAULT_TRELLIS_NAMESPACE } from './version.ts';

/** Flags of `logs`. */
export interface LogsFlags extends ClusterFlags {
  readonly trellisNamespace?: string;
  /** Milliseconds. */
  readonly since?: number;
  readonly tail?: number;
  readonly raw?: boolean;
}

/** One controller log line (pino JSON). */
export interface LogLine {
  readonly time?: string;
  readonly level?: string;
  readonly msg?: string;
  readonly kind?: string;
  readonly key?: string;
  readonly [field: string]: unknown;
}

/** Which objects' lines to keep: `Kind namespace/name` pairs. */
export interface LogSubjects {
  readonly objects: readonly { readonly kind: string; readonly key: string }[];
}

/** The lines of a Pod's log that are about one of the subjects; other and non-JSON lines are dropped. */
export function linesAbout(text: string, subjects: LogSubjects, controller: string): (LogLine & { controller: string })[] {
  const out: (LogLine & { controller: string })[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    if (subjects.objects.some((s) => s.kind === line.kind && s.key === line.key)) out.push({ ...line, controller });
  }
  return out;
}

const LEVEL_COLORS: Record<string, Color> = { error: 'red', fatal: 'red', warn: 'yellow', debug: 'gray', trace: 'gray' };
const SHOWN_FIELDS = ['reason', 'revision', 'durationMs', 'retryAfterMs', 'requeueAfterMs'];

/** One line for a person: time, level, controller, object, message, and the few fields worth a glance. */
export function formatLogLine(line: LogLine & { controller: string }, color = false): string {
  const level = (line.level ?? 'info').toUpperCase().padEnd(5);
  const extra = SHOWN_FIELDS.filter((f) => line[f] !== undefined).map((f) => `${f}=${String(line[f] as string | number)}`);
  const err = line.err as { message?: string } | undefined;
  if (err?.message) extra.push(`err=${JSON.stringify(err.message)}`);
  return `${line.time ?? ''} ${paint(level, LEVEL_COLORS[line.level ?? ''], color)} ${line.controller} ${line.kind ?? ''} ${line.key ?? ''}: ${line.msg ?? ''}${extra.length > 0 ? `  ${extra.join(' ')}` : ''}`;
}

interface Pod { metadata?: { name?: string }; status?: { phase?: string } }

/** Runs `logs`. */
export async function showLogs(io: CommandIO, name: string, flags: LogsFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const source = sourceRefOf(pkg);
  const subjects: LogSubjects = {
    objects: [{ kind: 'Package', key: `${target.namespace}/${name}` }, { kind: source.kind, key: `${source.namespace ?? ''}/${source.name}` }],
  };
  const namespace = flags.trellisNamespace ?? DEFAULT_TRELLIS_NAMESPACE;
  const core = target.kubeConfig.makeApiClient(CoreV1Api);
  const lines: (LogLine & { controller: string })[] = [];
  let pods = 0;
  for (const controller of CONTROLLERS) {
    const { items } = await target.client.list<Pod & { apiVersion?: string; kind?: string }>(
      { apiVersion: 'v1', kind: 'Pod', namespace }, { labelSelector: `app.kubernetes.io/name=${controller},app.kubernetes.io/part-of=trellis` });
    for (const pod of items.filter((p) => p.status?.phase === 'Running')) {
      pods += 1;
      const text = await core.readNamespacedPodLog({
        name: pod.metadata?.name ?? '', namespace, container: 'manager',
        ...(flags.since !== undefined ? { sinceSeconds: Math.max(1, Math.round(flags.since / 1000)) } : {}),
      }).catch((err: unknown) => {
        throw new CliError(`cannot read the log of Pod ${namespace}/${pod.metadata?.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
      });
      lines.push(...linesAbout(text, subjects, controller));
    }
  }
  if (pods === 0) {
    throw new CliError(`no running ${CONTROLLERS.join(' or ')} Pod in namespace ${namespace}: is Trellis installed there? (--trellis-namespace)`);
  }
  lines.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  const shown = flags.tail !== undefined ? lines.slice(-flags.tail) : lines;
  for (const line of shown) io.term.out(`${flags.raw ? JSON.stringify(line) : formatLogLine(line, io.term.color)}\n`);
  if (shown.length === 0) io.term.err(`no log lines about Package ${target.namespace}/${name} or ${source.kind} ${source.name}${flags.since ? ' in that time' : ''}\n`);
}

/** The `logs` subcommand. */
export function logsCommand(io: CommandIO): Command {
  const cmd = new Command('logs')
    .description('show the controllers\' log lines about a Package and its source')
    .argument('<name>', 'name of the Package')
    .option('--trellis-namespace <namespace>', 'namespace Trellis runs in', DEFAULT_TRELLIS_NAMESPACE)
    .option('--since <duration>', 'only lines newer than this (5m, 1h)', parseDuration)
    .addOption(new Option('--tail <lines>', 'only the last N lines').argParser((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
      return n;
    }))
    .option('--raw', 'print the JSON lines as the controllers wrote them', false);
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples('kubectl package logs web', 'kubectl package logs web --since 1h --tail 50', 'kubectl package logs web --raw | jq .'))
    .action(async (name: string, flags: LogsFlags) => { await runAction(io, () => showLogs(io, name, flags)); });
}
