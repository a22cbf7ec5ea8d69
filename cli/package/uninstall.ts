/**
 * `kubectl package uninstall NAME [--wait]`: deletes the Package — its
 * finalizer lets the apply controller remove the package's objects first — and
 * then the OCIRepository, when `install` created it for this Package and no
 * other Package uses it. `--wait` waits until the Package (and so its objects)
 * is gone.
 */
import { Command } from 'commander';
import { packageResource, type Package } from '../../apply-controller/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isForbidden } from '../../runtime/kube-transport.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import type { OCIRepository } from '../../source-controller/index.ts';
import { timeoutOption } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { readPackage } from './list.ts';
import { createdByInstall } from './objects.ts';
import { sourceRefOf } from './reconcile.ts';
import { pollUntil } from './wait.ts';

/** Flags of `uninstall`. */
export interface UninstallFlags extends ClusterFlags {
  readonly wait?: boolean;
  readonly timeout?: number;
  readonly keepSource?: boolean;
}

/** Every Package but this one that could use its source (all namespaces, or this one when listing all is forbidden). */
async function otherPackages(client: KubeClient, namespace: string, name: string): Promise<Package[]> {
  const type = { apiVersion: packageResource.apiVersion, kind: packageResource.kind };
  let items: Package[];
  try {
    items = (await client.list<Package>(type)).items;
  } catch (err) {
    if (!isForbidden(err)) throw err;
    items = (await client.list<Package>({ ...type, namespace })).items;
  }
  return items.filter((p) => !(p.metadata.name === name && p.metadata.namespace === namespace));
}

/** Runs `uninstall`. */
export async function uninstallPackage(io: CommandIO, name: string, flags: UninstallFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const { client, namespace } = target;
  const ref: ObjectRef = { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name };
  await client.delete(ref, { propagationPolicy: 'Background' });
  io.term.out(`package.apply.trellis.dev/${name} deleted\n`);

  const sourceRef = sourceRefOf(pkg);
  if (!flags.keepSource && sourceRef.kind === 'OCIRepository') {
    const source = await client.get<OCIRepository>(sourceRef);
    const usedElsewhere = (await otherPackages(client, namespace, name)).some((p) => {
      const r = sourceRefOf(p);
      return r.kind === sourceRef.kind && r.name === sourceRef.name && r.namespace === sourceRef.namespace;
    });
    if (source && createdByInstall(source, name) && !usedElsewhere) {
      await client.delete(sourceRef, { propagationPolicy: 'Background' });
      io.term.out(`ocirepository.source.trellis.dev/${sourceRef.name} deleted\n`);
    }
  }
  if (flags.wait) {
    await pollUntil(io.term, async () => {
      const left = await client.get<Package>(ref);
      if (!left) return { state: 'done', message: `${name} and its objects are gone` };
      const finalizers = left.metadata.finalizers ?? [];
      return { state: 'waiting', message: `waiting for the apply controller to remove ${name}'s objects${finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''}` };
    }, { timeoutMs: flags.timeout ?? 300_000, what: `waiting for ${name} to be removed` });
    io.term.out(`${name} uninstalled\n`);
  }
}

/** The `uninstall` subcommand. */
export function uninstallCommand(io: CommandIO): Command {
  const cmd = new Command('uninstall')
    .description('delete a Package and its objects (and the OCIRepository install created for it)')
    .argument('<name>', 'name of the Package')
    .option('--keep-source', 'keep the OCIRepository', false)
    .option('--wait', 'wait until the Package and its objects are gone', false)
    .addOption(timeoutOption());
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples('kubectl package uninstall web --wait', 'kubectl package uninstall web --keep-source -n shop'))
    .action(async (name: string, flags: UninstallFlags) => { await runAction(io, () => uninstallPackage(io, name, flags)); });
}
