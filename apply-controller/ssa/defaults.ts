/**
 * Defaults the engine fills in before an apply because older apiservers cannot.
 *
 * Server-side apply merges `ports` lists by the key `(port|containerPort,
 * protocol)`. Kubernetes releases before 1.21 (the local cluster runs 1.20)
 * build the merge key before defaulting `protocol`, so an apply of a port
 * without `protocol` is refused with a 500 ("associative list with keys has an
 * element that omits key field protocol"). Filling in the apiserver's own
 * default (`TCP`) gives the same object on every version.
 */
import type { DesiredObject } from './objects.ts';

type Rec = Record<string, unknown>;

function rec(value: unknown): Rec | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Rec : undefined;
}

function defaultProtocols(ports: unknown): void {
  if (!Array.isArray(ports)) return;
  for (const port of ports) {
    const p = rec(port);
    if (p && p.protocol === undefined) p.protocol = 'TCP';
  }
}

function defaultPodSpec(podSpec: Rec | undefined): void {
  if (!podSpec) return;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) defaultProtocols(rec(c)?.ports);
  }
}

/** Where a kind keeps its Pod spec. */
function podSpecOf(obj: DesiredObject): Rec | undefined {
  const spec = rec(obj.spec);
  if (obj.apiVersion !== 'v1' && !/^(apps|batch|extensions)\//.test(obj.apiVersion)) return undefined;
  switch (obj.kind) {
    case 'Pod':
      return spec;
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'ReplicationController': case 'Job':
      return rec(rec(spec?.template)?.spec);
    case 'CronJob':
      return rec(rec(rec(rec(spec?.jobTemplate)?.spec)?.template)?.spec);
    default:
      return undefined;
  }
}

/** Sets `protocol: TCP` on Service ports and container ports that name none (mutates `obj`). */
export function setPortProtocolDefaults(obj: DesiredObject): void {
  if (obj.apiVersion === 'v1' && obj.kind === 'Service') defaultProtocols(rec(obj.spec)?.ports);
  defaultPodSpec(podSpecOf(obj));
}
