/**
 * A label that only the leader's Pod carries, so a Service that selects it
 * routes to the leader alone. The source controller serves artifacts from its
 * own disk and only the leader builds them; with this label on its Service,
 * downloads never reach a standby that lacks them, while every replica stays
 * Ready (the Deployment rolls out and reports healthy as usual).
 *
 * It runs as one of the Manager's runnables, so it starts when the replica
 * starts leading: it labels its own Pod, then takes the label off any other Pod
 * (a crashed leader cannot remove its own). On a graceful stop it removes its
 * own label.
 */
import type { KubeClient } from './kube.ts';
import { isNotFound } from './kube-transport.ts';
import type { Logger } from './logging.ts';
import type { Runnable } from './manager.ts';

/** Options of {@link leaderPodLabel}. */
export interface LeaderPodLabelOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** This replica's Pod (`POD_NAME` from the downward API). */
  readonly podName: string;
  /** The label key; its value is `leader`. */
  readonly label: string;
  readonly logger?: Logger;
}

/**
 * The source controller's leader label: its artifact Service selects it, since
 * only the leader builds artifacts (on its own disk).
 */
export const ARTIFACT_SERVER_LABEL = 'source.trellis.dev/artifact-server';

/** The value of the leader label. */
export const LEADER_LABEL_VALUE = 'leader';

/** The runnable that keeps the leader label on this replica's Pod while it leads. */
export function leaderPodLabel(opts: LeaderPodLabelOptions): Runnable {
  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', namespace: opts.namespace, name });
  const setLabel = async (name: string, value: string | null): Promise<void> => {
    await opts.client.patch(pod(name), { metadata: { labels: { [opts.label]: value } } }, { type: 'merge' })
      .catch((err: unknown) => { if (!isNotFound(err)) throw err; });
  };
  return {
    kind: 'LeaderPodLabel',
    async start() {
      await setLabel(opts.podName, LEADER_LABEL_VALUE);
      const labelled = await opts.client.list({ apiVersion: 'v1', kind: 'Pod', namespace: opts.namespace },
        { labelSelector: `${opts.label}=${LEADER_LABEL_VALUE}` });
      for (const other of labelled.items) {
        const name = other.metadata?.name;
        if (name && name !== opts.podName) await setLabel(name, null);
      }
      opts.logger?.info({ pod: opts.podName, label: opts.label }, 'labelled this Pod as the leader');
    },
    async stop() {
      await setLabel(opts.podName, null).catch((err: unknown) => opts.logger?.warn({ err }, 'could not remove the leader label'));
    },
  };
}
