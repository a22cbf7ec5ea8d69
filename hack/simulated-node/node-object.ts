/**
 * The Node and Lease objects of the simulated node, as pure data: what to create,
 * and what the status should be at a given time (so the node writes only when
 * something is wrong or a heartbeat is due).
 */
import { canonical, rfc3339 } from './pod-status.ts';
import type { WireLease, WireNode, WireNodeCondition, WireNodeStatus, WireObjectMeta, WireTaint } from './wire.ts';

/** An object to create: the apiserver assigns the uid. */
export type Manifest<T extends { readonly metadata: WireObjectMeta }> =
  Omit<T, 'metadata'> & { readonly metadata: Omit<WireObjectMeta, 'uid'> };

/** The namespace kubelets keep their heartbeat Leases in. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** How long a Lease is valid after its renewTime (the kubelet's default). */
export const LEASE_DURATION_SECONDS = 40;

/** How often the kubelet refreshes its node status when nothing changed (1.20 default). */
export const NODE_STATUS_REPORT_MS = 5 * 60_000;

/** The node's only address; nothing ever connects to it. */
export const NODE_IP = '127.0.0.1';

const resources: Readonly<Record<string, string>> = {
  // Written in the apiserver's canonical quantity form (1000 pods reads back as "1k"),
  // so the status read back compares equal and the node does not rewrite it.
  cpu: '32', memory: '256Gi', pods: '1k', 'ephemeral-storage': '1Ti',
};

/** The labels a kubelet puts on its Node. */
export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'trellis.dev/simulated-node': 'true',
  };
}

/**
 * The Node to register. Its status is written afterwards through nodes/status (see
 * {@link desiredNodeStatus}), as a kubelet does.
 */
export function nodeManifest(nodeName: string, taints: readonly WireTaint[]): Manifest<WireNode> {
  return { metadata: { name: nodeName, labels: nodeLabels(nodeName) }, spec: { taints } };
}

/**
 * The status the node should report. Conditions keep their transition and
 * heartbeat times until a heartbeat is due, so calling this again a moment later
 * asks for no write.
 */
export function desiredNodeStatus(nodeName: string, current: WireNodeStatus | undefined, now: Date): WireNodeStatus {
  const stamp = rfc3339(now);
  const ready = current?.conditions?.find((c) => c.type === 'Ready');
  const lastBeat = ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) : Number.NaN;
  const heartbeatDue = !(now.getTime() - lastBeat < NODE_STATUS_REPORT_MS);
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string): WireNodeCondition => {
    const before = current?.conditions?.find((c) => c.type === type);
    const unchanged = before?.status === status && before.reason === reason && before.message === message;
    return {
      type, status, reason, message,
      lastHeartbeatTime: unchanged && !heartbeatDue && before.lastHeartbeatTime ? before.lastHeartbeatTime : stamp,
      lastTransitionTime: before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : stamp,
    };
  };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'simulated kubelet is posting ready status'),
    ],
    addresses: [{ type: 'InternalIP', address: NODE_IP }, { type: 'Hostname', address: nodeName }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: 'simulated', systemUUID: 'simulated', bootID: 'simulated',
      kernelVersion: 'simulated', osImage: 'Trellis simulated node', containerRuntimeVersion: 'simulated://1.0.0',
      kubeletVersion: 'v1.20.2', kubeProxyVersion: 'v1.20.2', operatingSystem: 'linux', architecture: 'amd64',
    },
  };
}

/** True when `desired` differs from `current` in any field it sets. */
export function nodeStatusDiffers(current: WireNodeStatus | undefined, desired: WireNodeStatus): boolean {
  const now = (current ?? {}) as Record<string, unknown>;
  return Object.entries(desired).some(([key, value]) => canonical(now[key]) !== canonical(value));
}

/**
 * Taints that say a node is not ready. In 1.20 the apiserver's admission adds
 * `node.kubernetes.io/not-ready:NoSchedule` to every new Node, and the node
 * lifecycle controller removes it once the node reports Ready; the local control
 * plane runs without that controller, so the simulated node removes them itself.
 */
export const NOT_READY_TAINT_KEYS: readonly string[] = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/**
 * The labels and taints to patch onto the Node, or undefined when it is right.
 * On registration or takeover (`claim`) the Node gets exactly our labels and
 * taints; afterwards only not-ready taints are removed (later taints are someone
 * else's, as with a real kubelet).
 */
export function nodeSpecPatch(node: WireNode, taints: readonly WireTaint[], claim: boolean):
  { metadata?: { labels: Record<string, string> }; spec: { taints: readonly WireTaint[] } } | undefined {
  const current = node.spec?.taints ?? [];
  const desired = claim ? taints : current.filter((t) => !NOT_READY_TAINT_KEYS.includes(t.key));
  const labels = node.metadata.labels ?? {};
  const wanted = nodeLabels(node.metadata.name);
  const labelsWrong = claim && Object.entries(wanted).some(([k, v]) => labels[k] !== v);
  if (!labelsWrong && canonical(current) === canonical(desired)) return undefined;
  return { ...(labelsWrong ? { metadata: { labels: wanted } } : {}), spec: { taints: desired } };
}

/** Kubernetes' microsecond time format (metav1.MicroTime), used by Leases. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

/** The heartbeat Lease of a node, owned by the Node so it goes away with it. */
export function leaseManifest(node: { readonly name: string; readonly uid: string }, holderIdentity: string,
  now: Date): Manifest<WireLease> {
  return {
    metadata: {
      name: node.name, namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }],
    },
    spec: { holderIdentity, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}

/** The holder identity this process writes into the Lease. */
export function holderIdentity(host: string, pid: number): string {
  return `trellis-simulated-node/${host}/${pid}`;
}

/** The process that holds a Lease, when the holder is a simulated node. */
export function parseHolderIdentity(identity: string | undefined): { host: string; pid: number } | undefined {
  const m = /^trellis-simulated-node\/([^/]+)\/(\d+)$/.exec(identity ?? '');
  return m ? { host: m[1] ?? '', pid: Number(m[2]) } : undefined;
}
