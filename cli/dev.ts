/**
 * `trellis dev <dir>`: the live loop of a package author. Watches the package,
 * and on each change rebuilds, pushes to the registry (where the Package's
 * OCIRepository looks, else `oci://$TRELLIS_REGISTRY/dev/<name>:dev`), asks the
 * Package to reconcile now, and prints the outcome: the applied revision and what
 * changed, or the validation or apply error with its file and object. Ctrl-C stops.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { PackageManifest } from '../apply-controller/index.ts';
import { loadCredentials } from '../packages-cdk8s/build/credentials.ts';
import { runDevLoop, type DevEvent } from '../packages-cdk8s/build/dev.ts';
import { KubeClient } from '../runtime/kube.ts';
import { loadKubeConfig } from '../runtime/kubeconfig.ts';
import { formatReference, OciClient, parseReference, type OciReference } from '../source-controller/index.ts';
import { describeBuilt, failCommand } from './build.ts';
import { createPushProgress, type ProgressStream } from './progress.ts';

/** Options of `trellis dev`. */
export interface DevCommandOptions {
  readonly namespace: string;
  readonly package?: string;
  readonly to?: string;
  readonly reconcile: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly insecure?: boolean;
  readonly caFile?: string;
  readonly creds?: string;
  readonly debounce: string;
  readonly timeout: string;
  readonly entry?: string;
}

/** Loopback registries (the local one of `trellis up`) speak plain HTTP. */
export function isLoopbackHost(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host);
}

/** The line `trellis dev` prints for an event, or undefined for none. */
export function describeDevEvent(event: DevEvent): string | undefined {
  switch (event.type) {
    case 'watching': return `watching ${event.dir}${event.pollingBecause !== undefined ? ` by polling (${event.pollingBecause})` : ''} (Ctrl-C stops)`;
    case 'changed': return `changed: ${event.files.slice(0, 5).join(', ')}${event.files.length > 5 ? `, and ${event.files.length - 5} more` : ''}`;
    case 'built': return describeBuilt(event.bundle, { file: false });
    case 'build-failed': return `build failed: ${event.error.message}`;
    case 'unchanged': return 'the bundle did not change: nothing to push';
    case 'pushed': return `pushed oci://${formatReference(event.artifact.reference)} (${event.artifact.blobs.filter((b) => b.uploaded).length} blob(s) uploaded)`;
    case 'push-failed': return `push failed: ${event.error.message}`;
    case 'no-package': return `not reconciling Package ${event.package.namespace}/${event.package.name}: ${event.reason}`;
    case 'reconcile-requested': return `asked Package ${event.target.package.namespace}/${event.target.package.name} to reconcile`;
    case 'program-output': return `[package] ${event.line}`;
    case 'outcome': {
      const o = event.outcome;
      if (o.kind === 'applied') return `applied ${o.revision}${o.packageRevision !== undefined ? ` as revision ${o.packageRevision}` : ''}: ${o.changes ?? 'no changes reported'}`;
      if (o.kind === 'failed') return `FAILED (${o.condition}: ${o.reason}): ${o.file !== undefined ? `${o.file}: ` : ''}${o.message}`;
      return `no verdict yet: ${o.message}`;
    }
  }
}

function milliseconds(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`${flag} must be a duration like 300ms, 30s or 2m`);
  const n = Number(m[1]);
  return m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
}

/** Runs `trellis dev` until `signal` aborts. Lines go to `out` (default stderr). */
export async function runDev(dir: string, opts: DevCommandOptions, signal: AbortSignal,
  out: ProgressStream = process.stderr): Promise<void> {
  const to = opts.to !== undefined ? parseReference(opts.to) : undefined;
  const registry = process.env.TRELLIS_REGISTRY;
  const credentials = await loadCredentials(opts.creds !== undefined ? { creds: opts.creds } : {});
  // One client per transport: --insecure wins, then the OCIRepository's own setting, then loopback means plain HTTP.
  const clients = new Map<boolean, OciClient>();
  const oci = (reference: OciReference, sourceInsecure: boolean | undefined): OciClient => {
    const insecure = opts.insecure ?? sourceInsecure ?? isLoopbackHost(reference.host);
    let client = clients.get(insecure);
    if (!client) {
      client = new OciClient({ insecure, caFile: opts.caFile, credentials });
      clients.set(insecure, client);
    }
    return client;
  };
  const kube = opts.reconcile
    ? new KubeClient(loadKubeConfig({ ...(opts.kubeconfig ? { path: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }))
    : undefined;
  const fallbackReference = (manifest: PackageManifest): OciReference | undefined =>
    registry ? { host: registry, repository: `dev/${manifest.name}`, tag: 'dev' } : undefined;
  const say = (line: string): void => { out.write(`${line}\n`); };
  let progress: ReturnType<typeof createPushProgress> | undefined;
  try {
    await runDevLoop({
      dir: resolve(dir), oci, ...(kube ? { kube } : {}), namespace: opts.namespace,
      ...(opts.package !== undefined ? { packageName: opts.package } : {}),
      ...(to ? { to } : {}),
      ...(opts.entry !== undefined ? { entry: opts.entry } : {}),
      fallbackReference,
      debounceMs: milliseconds(opts.debounce, '--debounce'),
      outcomeTimeoutMs: milliseconds(opts.timeout, '--timeout'),
      onProgress: (p) => { (progress ??= createPushProgress(out)).onProgress(p); },
      report: (event) => {
        if (event.type === 'pushed' || event.type === 'push-failed') {
          progress?.finish(event.type === 'pushed' ? event.artifact.blobs : undefined);
          progress = undefined;
        }
        const line = describeDevEvent(event);
        if (line !== undefined) say(line);
      },
      signal,
    });
  } finally {
    for (const client of clients.values()) client.close();
  }
}

/** The `dev` subcommand. */
export function devCommand(): Command {
  return new Command('dev')
    .description('rebuild, push and reconcile a package on every change of its sources')
    .argument('<dir>', 'the package folder (with package.ts)')
    .option('-n, --namespace <ns>', 'namespace of the Package', 'default')
    .option('--package <name>', 'name of the Package to reconcile (default: the package name)')
    .option('--to <reference>', 'push here (default: where the Package\'s OCIRepository looks, else oci://$TRELLIS_REGISTRY/dev/<name>:dev)')
    .option('--no-reconcile', 'only build and push; do not touch the cluster')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--insecure', 'plain HTTP to the registry (default for loopback registries)')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the registry')
    .option('--creds <user:password>', 'registry credentials (default: the docker config.json entry of the host)')
    .option('--debounce <duration>', 'quiet time after a change before rebuilding', '300ms')
    .option('--timeout <duration>', 'how long to wait for the Package\'s verdict', '2m')
    .option('--entry <file>', 'the package program, relative to <dir>', 'package.ts')
    .addHelpText('after', '\nExample:\n  source .trellis/env\n  kubectl package install web oci://$TRELLIS_REGISTRY/dev/web --tag dev\n  trellis dev packages-cdk8s/examples/web')
    .action(async (dir: string, o: DevCommandOptions) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await runDev(dir, o, stop.signal).catch(failCommand);
    });
}
