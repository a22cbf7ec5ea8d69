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

/** `Kind ns/name action`, as install prints it. */
export function describeAction(o: InstallObject, action: ApplyAction): string {
  return `${describeObject(o)} ${action}`;
}
