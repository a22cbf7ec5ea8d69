/**
 * `trellis uninstall [--keep-crds]`: removes Trellis and leaves everything
 * Packages installed in place. The order makes sure no controller deletes a
 * Package's objects on the way out:
 *
 * 1. every Package is suspended (`spec.suspend: true`) and annotated: a
 *    controller that still runs then releases a deleted Package without
 *    touching its objects (that is what its finalizer does for a suspended one);
 * 2. the controller Deployments are deleted (no controller acts any more);
 * 3. the finalizers of Packages, GitRepositories and OCIRepositories are removed
 *    and the objects deleted (PackageRevisions and RevisionSlices go with their
 *    Package by garbage collection, or with the CRDs);
 * 4. the CRDs, unless `--keep-crds` (then Trellis's custom objects are gone but
 *    their definitions stay, for a reinstall);
 * 5. the installation's other objects in reverse order: RBAC, Services,
 *    NetworkPolicy, and the namespace last.
 *
 * Objects applied by Packages have no owner reference to their Package, so
 * nothing of them goes with it; they keep the package labels, which a later
 * Package of the same name and namespace adopts.
 */
import { Command } from 'commander';
import type { KubeClient } from '../../runtime/kube.ts';
import { isNotFound } from '../../runtime/kube-transport.ts';
import { refOf, type KubeObject, type ResourceType } from '../../runtime/object.ts';
import { packageResource } from '../../apply-controller/index.ts';
import { gitRepositoryResource, ociRepositoryResource } from '../../source-controller/index.ts';
import { examples, processIO, runAction, target, type CommandIO } from '../package/context.ts';
import { describeObject, renderInstall } from './render.ts';
import { CONTROLLER_DEPLOYMENTS } from './rollout.ts';

/** Flags of `trellis uninstall`. */
export interface UninstallFlags {
  readonly keepCrds?: boolean | undefined;
  readonly namespace?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

/** The annotation uninstall leaves on each Package before releasing it (visible to anyone watching deletions). */
export const UNINSTALL_ANNOTATION = 'trellis.dev/uninstalled';

const CUSTOM_KINDS: readonly ResourceType[] = [packageResource, gitRepositoryResource, ociRepositoryResource]
  .map((r) => ({ apiVersion: r.apiVersion, kind: r.gvk.kind }));

/** What uninstall did, for the report. */
export interface UninstallReport {
  readonly packages: number;
  readonly sources: number;
  readonly deleted: readonly string[];
}

async function listAll(client: KubeClient, type: ResourceType): Promise<KubeObject[]> {
  if (!await client.serves(type.apiVersion, type.kind)) return [];
  return (await client.list(type)).items.map((o) => ({ ...o, apiVersion: type.apiVersion, kind: type.kind }));
}

const ignoreMissing = (err: unknown): void => { if (!isNotFound(err)) throw err; };

/** Suspends every Package so no controller prunes its objects (step 1). */
async function suspendPackages(client: KubeClient, packages: readonly KubeObject[]): Promise<void> {
  for (const p of packages) {
    await client.patch(refOf(p), {
      metadata: { annotations: { [UNINSTALL_ANNOTATION]: 'objects left in place by trellis uninstall' } },
      spec: { suspend: true },
    }, { type: 'merge' }).catch(ignoreMissing);
  }
}

/** Removes finalizers and deletes (step 3). */
async function releaseAndDelete(client: KubeClient, objects: readonly KubeObject[]): Promise<void> {
  for (const o of objects) {
    if ((o.metadata?.finalizers ?? []).length > 0) {
      await client.patch(refOf(o), { metadata: { finalizers: null } }, { type: 'merge' }).catch(ignoreMissing);
    }
    await client.delete(refOf(o)).catch(ignoreMissing);
  }
}

/** Uninstalls Trellis with `client`; `say` gets one line per step. */
export async function uninstallTrellis(client: KubeClient, flags: UninstallFlags, say: (line: string) => void): Promise<UninstallReport> {
  const rendered = renderInstall({ namespace: flags.namespace });
  const ns = rendered.namespace;
  const [packages, gits, ocis] = await Promise.all(CUSTOM_KINDS.map((t) => listAll(client, t)));
  const sources = [...gits!, ...ocis!];

  await suspendPackages(client, packages!);
  say(`suspended ${packages!.length} Package(s): their objects stay in the cluster`);
  for (const name of CONTROLLER_DEPLOYMENTS) {
    if (await client.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name })) say(`deleted Deployment ${ns}/${name}`);
  }
  await releaseAndDelete(client, packages!);
  await releaseAndDelete(client, sources);
  say(`deleted ${packages!.length} Package(s) and ${sources.length} source(s) without their finalizers`);

  const deleted: string[] = [];
  for (const o of [...rendered.objects].reverse()) {
    if (o.kind === 'CustomResourceDefinition' && flags.keepCrds) continue;
    if (o.kind === 'Deployment' && o.metadata.namespace === ns) continue;
    if (await client.delete(refOf(o)).catch((err: unknown) => { ignoreMissing(err); return false; })) {
      deleted.push(describeObject(o));
      say(`deleted ${describeObject(o)}`);
    }
  }
  if (flags.keepCrds) say('kept the CRDs (--keep-crds)');
  return { packages: packages!.length, sources: sources.length, deleted };
}

/** Runs `trellis uninstall`. */
export async function runUninstall(flags: UninstallFlags, io: CommandIO): Promise<UninstallReport> {
  const { client } = target(io, { kubeconfig: flags.kubeconfig, context: flags.context });
  try {
    const report = await uninstallTrellis(client, flags, (line) => io.term.err(`${line}\n`));
    io.term.out(`Trellis uninstalled. ${report.packages} Package(s) were released without deleting anything they installed: `
      + 'those objects are still in the cluster, now managed by nobody.\n');
    return report;
  } finally {
    client.transport.close();
  }
}

/** The `uninstall` subcommand. */
export function uninstallCommand(io: CommandIO = processIO()): Command {
  return new Command('uninstall')
    .description('remove Trellis from the cluster; the objects Packages installed are left in place')
    .option('--keep-crds', 'keep the CustomResourceDefinitions (Trellis\'s custom objects are still deleted)', false)
    .option('-n, --namespace <namespace>', 'namespace of the controllers', 'trellis-system')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .addHelpText('after', examples('trellis uninstall', 'trellis uninstall --keep-crds'))
    .action(async (flags: UninstallFlags) => { await runAction(io, async () => { await runUninstall(flags, io); }); });
}
