/**
 * The few fields of Pods, Nodes and Leases the simulated node reads and writes, in
 * their wire (JSON) form: timestamps are RFC 3339 strings exactly as the apiserver
 * sends them, so a status read back compares equal to the status we wrote.
 */

/** metadata.ownerReferences[] */
export interface WireOwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

/** The metadata fields the node looks at. */
export interface WireObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid: string;
  readonly resourceVersion?: string;
  readonly deletionTimestamp?: string;
  readonly deletionGracePeriodSeconds?: number;
  readonly finalizers?: readonly string[];
  readonly ownerReferences?: readonly WireOwnerReference[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** spec.containers[] / spec.initContainers[] */
export interface WireContainer {
  readonly name: string;
  readonly image?: string;
}

/** One of waiting / running / terminated. */
export interface WireContainerState {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly running?: { readonly startedAt?: string };
  readonly terminated?: {
    readonly exitCode: number;
    readonly reason?: string;
    readonly startedAt?: string;
    readonly finishedAt?: string;
    readonly containerID?: string;
  };
}

/** status.containerStatuses[] */
export interface WireContainerStatus {
  readonly name: string;
  readonly state?: WireContainerState;
  readonly lastState?: WireContainerState;
  readonly ready: boolean;
  readonly started?: boolean;
  readonly restartCount: number;
  readonly image: string;
  readonly imageID: string;
  readonly containerID?: string;
}

/** status.conditions[] of a Pod. */
export interface WirePodCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastProbeTime?: string | null;
  readonly lastTransitionTime?: string;
}

/** The Pod status fields the node owns (and the phase it reads). */
export interface WirePodStatus {
  readonly phase?: string;
  readonly conditions?: readonly WirePodCondition[];
  readonly containerStatuses?: readonly WireContainerStatus[];
  readonly initContainerStatuses?: readonly WireContainerStatus[];
  readonly hostIP?: string;
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly startTime?: string;
  readonly qosClass?: string;
}

/** A Pod as it arrives from a list or a watch. */
export interface WirePod {
  readonly metadata: WireObjectMeta;
  readonly spec: {
    readonly nodeName?: string;
    readonly containers: readonly WireContainer[];
    readonly initContainers?: readonly WireContainer[];
    readonly restartPolicy?: string;
    readonly hostNetwork?: boolean;
  };
  readonly status?: WirePodStatus;
}

/** A list response. */
export interface WireList<T> {
  readonly metadata: { readonly resourceVersion?: string };
  readonly items: readonly T[];
}

/** spec.taints[] of a Node. */
export interface WireTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** status.conditions[] of a Node. */
export interface WireNodeCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastHeartbeatTime?: string;
  readonly lastTransitionTime?: string;
}

/** The Node status fields the node writes. */
export interface WireNodeStatus {
  readonly capacity?: Readonly<Record<string, string>>;
  readonly allocatable?: Readonly<Record<string, string>>;
  readonly conditions?: readonly WireNodeCondition[];
  readonly addresses?: readonly { readonly type: string; readonly address: string }[];
  readonly daemonEndpoints?: { readonly kubeletEndpoint?: { readonly Port: number } };
  readonly nodeInfo?: Readonly<Record<string, string>>;
}

/** A Node as read from the apiserver. */
export interface WireNode {
  readonly metadata: WireObjectMeta;
  readonly spec?: { readonly taints?: readonly WireTaint[]; readonly unschedulable?: boolean };
  readonly status?: WireNodeStatus;
}

/** A coordination.k8s.io/v1 Lease. */
export interface WireLease {
  readonly metadata: WireObjectMeta;
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly leaseDurationSeconds?: number;
    readonly renewTime?: string;
    readonly acquireTime?: string;
    readonly leaseTransitions?: number;
  };
}
