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
import { isForbidden } from '../../runtime/kube-transport.ts';
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

/**
 * The kinds an installation holds that an upgrade (or an install without
 * `--monitoring`) may leave behind: `[apiVersion, kind, namespaced, only when
 * served]`. Never CRDs nor the namespace: they hold data.
 */
const PRUNABLE_KINDS: readonly (readonly [string, string, boolean, boolean])[] = [
  ['v1', 'ServiceAccount', true, false], ['v1', 'Service', true, false], ['apps/v1', 'Deployment', true, false],
  ['networking.k8s.io/v1', 'NetworkPolicy', true, false],
  ['rbac.authorization.k8s.io/v1', 'Role', true, false], ['rbac.authorization.k8s.io/v1', 'RoleBinding', true, false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', false, false], ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false, false],
  // The monitoring objects (--monitoring): the dashboard's ConfigMap, and the PrometheusRule where its CRD is served.
  ['v1', 'ConfigMap', true, false], ['monitoring.coreos.com/v1', 'PrometheusRule', true, true],
];

/** The labels only objects of the installation carry (`managed-by` tells them from other `part-of: trellis` objects). */
export const INSTALL_SELECTOR = 'app.kubernetes.io/part-of=trellis,app.kubernetes.io/managed-by=trellis';

/**
 * Deletes what an older version (or an install with other `--monitoring`)
 * installed and this one does not have: objects with the installation's
 * labels, of the kinds it holds, that it does not render. Returns them
 * (`Kind ns/name`). A PrometheusRule the user may not list is left alone
 * (installing without the rules does not need rights on them).
 */
export async function pruneStale(client: KubeClient, rendered: RenderedInstall): Promise<string[]> {
  const wanted = new Set(rendered.objects.map(describeObject));
  const pruned: string[] = [];
  for (const [apiVersion, kind, namespaced, ifServed] of PRUNABLE_KINDS) {
    if (ifServed && !await client.serves(apiVersion, kind)) continue;
    const type = { apiVersion, kind, ...(namespaced ? { namespace: rendered.namespace } : {}) };
    const list = await client.list(type, { labelSelector: INSTALL_SELECTOR }).catch((err: unknown) => {
      if (ifServed && isForbidden(err)) return { items: [] };
      throw err;
    });
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
