/**
 * `kubectl package reconcile NAME [--with-source] [--wait]`: asks the
 * controllers to act now instead of at the next interval, by setting the
 * `reconcile.trellis.dev/requestedAt` annotation (their predicates pass on a
 * change of it). With `--with-source` the source is asked first — and with
 * `--wait`, awaited — so the Package then applies the newest artifact.
 */
import { Command } from 'commander';
import { packageResource, type Package } from '../../apply-controller/index.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { SOURCE_GROUP, SOURCE_VERSION } from '../../source-controller/index.ts';
import { timeoutOption } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { readPackage } from './list.ts';
import { FIELD_MANAGER } from './objects.ts';
import { pollUntil, reconcileVerdict, type SourceObject } from './wait.ts';

/** Flags of `reconcile`. */
export interface ReconcileFlags extends ClusterFlags {
  readonly withSource?: boolean;
  readonly wait?: boolean;
  readonly timeout?: number;
}

/** The source a Package applies. */
export function sourceRefOf(pkg: Package): ObjectRef {
  const ref = pkg.spec.sourceRef;
  return {
    apiVersion: `${SOURCE_GROUP}/${SOURCE_VERSION}`, kind: ref.kind, name: ref.name,
    namespace: ref.namespace ?? pkg.metadata.namespace ?? 'default',
  };
}

/** Sets the reconcile-request annotation to `requestedAt`. */
export async function requestReconcile(client: KubeClient, ref: ObjectRef, requestedAt: string): Promise<void> {
  await client.patch(ref, { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } }, { fieldManager: FIELD_MANAGER });
}

function describe(ref: ObjectRef): string {
  return `${ref.kind.toLowerCase()}.${ref.apiVersion.split('/')[0] ?? ''}/${ref.name}`;
}

/** Runs `reconcile`. */
export async function reconcilePackage(io: CommandIO, name: string, flags: ReconcileFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const { client } = target;
  const timeoutMs = flags.timeout ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  const requestedAt = io.now().toISOString();
  if (flags.withSource) {
    const sourceRef = sourceRefOf(pkg);
    await requestReconcile(client, sourceRef, requestedAt);
    io.term.out(`${describe(sourceRef)} reconcile requested\n`);
    if (flags.wait) {
      io.term.out(`${await pollUntil(io.term, async () => reconcileVerdict(await client.get<SourceObject>(sourceRef), requestedAt),
        { timeoutMs, what: `waiting for ${sourceRef.kind} ${sourceRef.name}` })}\n`);
    }
  }
  const ref: ObjectRef = { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: target.namespace, name };
  await requestReconcile(client, ref, requestedAt);
  io.term.out(`${describe(ref)} reconcile requested\n`);
  if (flags.wait) {
    io.term.out(`${await pollUntil(io.term, async () => reconcileVerdict(await client.get<Package>(ref), requestedAt),
      { timeoutMs: Math.max(1000, deadline - Date.now()), what: `waiting for Package ${name}` })}\n`);
  }
}

/** The `reconcile` subcommand. */
export function reconcileCommand(io: CommandIO): Command {
  const cmd = new Command('reconcile')
    .description('ask the controllers to reconcile a Package now (and its source first, with --with-source)')
    .argument('<name>', 'name of the Package')
    .option('--with-source', 'reconcile the source first, so a newly pushed version is picked up', false)
    .option('--wait', 'wait until the reconcile finished; fail when it did not end Ready', false)
    .addOption(timeoutOption());
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples('kubectl package reconcile web', 'kubectl package reconcile web --with-source --wait'))
    .action(async (name: string, flags: ReconcileFlags) => { await runAction(io, () => reconcilePackage(io, name, flags)); });
}
