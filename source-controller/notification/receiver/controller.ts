/**
 * The Receiver reconciler: checks the spec, reads the token from the
 * Receiver's Secret (its own namespace only), derives the webhook path and
 * puts the Receiver in the server's table, then publishes the path in
 * `status.webhookPath`. A Receiver that is deleted, suspended, invalid or
 * without a usable Secret is taken out of the table first, so its path stops
 * answering before anything else happens.
 */
import { Controller } from '../../../runtime/controller.ts';
import { parseBoundedDuration } from '../../../runtime/duration.ts';
import { StallingError, WaitingError, type ReconcileResult } from '../../../runtime/errors.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { Logger } from '../../../runtime/logging.ts';
import type { ControllerMetrics } from '../../../runtime/metrics.ts';
import { receiverResource, type Receiver } from '../api.ts';
import { readSecretData, writeReadiness, type Readiness } from '../status.ts';
import type { ReceiverTable } from './index-table.ts';
import { MIN_TOKEN_LENGTH, webhookPath } from './verify.ts';

/** Options of {@link receiverController}. */
export interface ReceiverControllerOptions {
  readonly client: KubeClient;
  readonly table: ReceiverTable;
  readonly namespace?: string | undefined;
  readonly logger?: Logger | undefined;
  readonly metrics?: ControllerMetrics | undefined;
  /** Retry delay while the Secret is missing or unusable (default 30 s, at most the interval). */
  readonly secretRetryMs?: number | undefined;
}

/** The longest `spec.interval`. */
const MAX_INTERVAL = { ms: 24 * 3_600_000, text: '24h' } as const;

/** Problems of a spec the CRD schema cannot express; empty when fine. */
export function receiverSpecProblems(receiver: Receiver): string[] {
  const problems: string[] = [];
  receiver.spec.resources.forEach((r, i) => {
    const named = r.name !== undefined;
    const labelled = r.matchLabels !== undefined && Object.keys(r.matchLabels).length > 0;
    if (named === labelled) problems.push(`spec.resources[${i}]: exactly one of name and matchLabels`);
    if (receiver.spec.type === 'registry' && r.kind !== 'OCIRepository') {
      problems.push(`spec.resources[${i}]: a registry Receiver reconciles OCIRepositories only`);
    }
  });
  try {
    parseBoundedDuration(receiver.spec.interval, 'spec.interval', MAX_INTERVAL);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return problems;
}

/** The Receiver controller; add it to the Manager beside the source controllers. */
export function receiverController(options: ReceiverControllerOptions): Controller<Receiver> {
  const { client, table } = options;
  return new Controller<Receiver>({
    client,
    resource: { apiVersion: receiverResource.apiVersion, kind: receiverResource.kind, ...(options.namespace ? { namespace: options.namespace } : {}) },
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    reconcile: async (key, ctx): Promise<ReconcileResult | void> => {
      const namespace = ctx.namespace ?? '';
      const receiver = await client.get<Receiver>({ apiVersion: receiverResource.apiVersion, kind: receiverResource.kind, namespace, name: ctx.name });
      if (!receiver || receiver.metadata.deletionTimestamp) {
        table.remove(key);
        return;
      }
      const settle = async (readiness: Readiness, path?: string): Promise<void> => {
        // A Receiver that serves no path shows none.
        await writeReadiness(client, receiver, readiness, { webhookPath: path ?? null });
      };
      if (receiver.spec.suspend) {
        table.remove(key);
        await settle({ ready: false, reason: 'Suspended', message: 'suspended: requests are answered 404' });
        return;
      }
      const problems = receiverSpecProblems(receiver);
      if (problems.length > 0) {
        table.remove(key);
        const message = problems.join('; ');
        await settle({ ready: false, stalled: true, reason: 'InvalidSpec', message });
        throw new StallingError('InvalidSpec', message);
      }
      const intervalMs = parseBoundedDuration(receiver.spec.interval, 'spec.interval', MAX_INTERVAL);
      const secretName = receiver.spec.secretRef.name;
      const data = await readSecretData(client, namespace, secretName);
      const token = data?.get('token');
      if (token === undefined || token.length < MIN_TOKEN_LENGTH) {
        table.remove(key);
        const [reason, message] = data === undefined
          ? ['SecretNotFound', `Secret ${namespace}/${secretName} not found`]
          : ['InvalidSecret', `Secret ${namespace}/${secretName} needs the key "token" with at least ${MIN_TOKEN_LENGTH} characters`];
        await settle({ ready: false, reason, message });
        throw new WaitingError(reason, message, { retryAfterMs: Math.min(intervalMs, options.secretRetryMs ?? 30_000) });
      }
      const path = webhookPath(token, namespace, ctx.name);
      table.set({
        key, namespace, name: ctx.name, uid: receiver.metadata.uid, type: receiver.spec.type, token,
        events: receiver.spec.events ?? [], resources: receiver.spec.resources, path,
      });
      await settle({ ready: true, message: `receiving at ${path}` }, path);
      return { requeueAfterMs: intervalMs };
    },
  });
}
