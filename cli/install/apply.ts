/**
 * Applying a rendered installation: phase by phase with server-side apply (field
 * manager `trellis-install`, taking over fields others set), waiting after the
 * first phase until the API serves every CRD, so the second can rely on them.
 * Each object is reported as created, configured or unchanged (from its
 * resourceVersion before and after). Installing over an older version is the
 * same operation: the new CRD schemas, RBAC and Deployments replace the old.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../runtime/kube.ts';
import { refOf, type KubeObject } from '../../runtime/object.ts';
import { CliError } from '../package/errors.ts';
import { describeObject, type InstallObject, type RenderedInstall } from './render.ts';

/** The field manager of `trellis install` (and of `bootstrap`'s install step). */
export const INSTALL_FIELD_MANAGER = 'trellis-install';

/** What happened to one object. */
export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** Options of {@link applyInstall}. */
export interface ApplyInstallOptions {
  /** Called once per object, in apply order. */
  readonly onApplied?: (object: InstallObject, action: ApplyAction) => void;
  /** How long to wait for the CRDs to be established (default 60 s). */
  readonly crdTimeoutMs?: number;
}

interface Crd extends InstallObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** Applies every object of `rendered`, phase by phase; returns the actions by object. */
export async function applyInstall(client: KubeClient, rendered: RenderedInstall,
  opts: ApplyInstallOptions = {}): Promise<Map<InstallObject, ApplyAction>> {
  const actions = new Map<InstallObject, ApplyAction>();
  for (const [, objects] of rendered.phases) {
    for (const o of objects) {
      const before = await client.get(refOf(o));
      const after = await client.apply(o, { fieldManager: INSTALL_FIELD_MANAGER, force: true });
      actions.set(o, actionOf(before, after));
      opts.onApplied?.(o, actions.get(o)!);
    }
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    if (crds.length > 0) await waitEstablished(client, crds, opts.crdTimeoutMs ?? 60_000);
  }
  return actions;
}

/**
 * Created, configured or unchanged. The generation tells spec changes apart
 * from status writes by others in between (a new CRD's conditions); kinds
 * without one compare resourceVersions.
 */
function actionOf(before: KubeObject | undefined, after: KubeObject): ApplyAction {
  if (!before) return 'created';
  const [b, a] = [before.metadata?.generation, after.metadata?.generation];
  if (b !== undefined && a !== undefined) return a === b ? 'unchanged' : 'configured';
  return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
}

/** Polls the CRDs until each is Established (the API serves it). */
async function waitEstablished(client: KubeClient, crds: readonly InstallObject[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending: string[] = [];
    for (const crd of crds) {
      const live = await client.get<Crd>(refOf(crd));
      const established = live?.status?.conditions?.find((c) => c.type === 'Established');
      if (established?.status !== 'True') pending.push(`${crd.metadata.name}${established?.message ? ` (${established.message})` : ''}`);
    }
    if (pending.length === 0) return;
    if (Date.now() >= deadline) throw new CliError(`CRDs not established after ${Math.round(timeoutMs / 1000)} s: ${pending.join(', ')}`);
    await sleep(250);
  }
}

/** The kinds an installation holds that an upgrade may leave behind (never CRDs nor the namespace: they hold data). */
const PRUNABLE_KINDS: readonly (readonly [string, string, boolean])[] = [
  ['v1', 'ServiceAccount', true], ['v1', 'Service', true], ['apps/v1', 'Deployment', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', true],
  ['rbac.authorization.k8s.io/v1', 'Role', true], ['rbac.authorization.k8s.io/v1', 'RoleBinding', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', false], ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false],
];

/** The labels only objects of the installation carry (`managed-by` tells them from other `part-of: trellis` objects). */
export const INSTALL_SELECTOR = 'app.kubernetes.io/part-of=trellis,app.kubernetes.io/managed-by=trellis';

/**
 * Deletes what an older version installed and this one no longer has: objects
 * with the installation's labels, of the kinds it holds, that it does not
 * render. Returns them (`Kind ns/name`).
 */
export async function pruneStale(client: KubeClient, rendered: RenderedInstall): Promise<string[]> {
  const wanted = new Set(rendered.objects.map(describeObject));
  const pruned: string[] = [];
  for (const [apiVersion, kind, namespaced] of PRUNABLE_KINDS) {
    const list = await client.list({ apiVersion, kind, ...(namespaced ? { namespace: rendered.namespace } : {}) }, { labelSelector: INSTALL_SELECTOR });
    for (const item of list.items) {
      const o = { ...item, apiVersion, kind };
      if (wanted.has(describeObject(o))) continue;
      if (await client.delete(refOf(o))) pruned.push(describeObject(o));
    }
  }
  return pruned;
}

/** `Kind ns/name action`, as install prints it. */
export function describeAction(o: InstallObject, action: ApplyAction): string {
  return `${describeObject(o)} ${action}`;
}
