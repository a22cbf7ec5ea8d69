/**
 * The apiserver's own request count (`apiserver_request_total` on its /metrics,
 * read with the admin kubeconfig): the independent witness that a reconcile
 * wrote nothing. The metric has no user label and other tests share the
 * cluster, so callers filter by resource (a resource only their test touches,
 * such as the kind of a CRD with a unique group) and by `dry_run`.
 */
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** One `apiserver_request_total` series. */
export interface RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Verbs that only read. */
const READ_VERBS = new Set(['GET', 'LIST', 'WATCH', 'WATCHLIST', 'CONNECT']);

/** Parses the `apiserver_request_total` lines of a Prometheus text exposition. */
export function parseRequestTotals(text: string): RequestSeries[] {
  const out: RequestSeries[] = [];
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** Reads the apiserver's /metrics with the kubeconfig's credentials. */
export async function apiserverRequestTotals(kubeConfig: KubeConfig): Promise<RequestSeries[]> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const opts: { headers: Record<string, string> } & Record<string, unknown> = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(opts as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  const url = new URL(`${cluster.server.replace(/\/$/, '')}/metrics`);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  return parseRequestTotals(text);
}

/**
 * Sums the requests to `group`/`resource` by whether they wrote, and whether they
 * were dry runs. `DELETE` is left out of the writes: the namespace controller
 * sends a collection delete for every served kind into every namespace being
 * deleted (other tests' namespaces included, for a kind nobody there uses), and
 * for custom resources this apiserver version labels those with the same scope as
 * single deletes. Deletes by the controller are still seen by its own request
 * counter; this witness covers creates, updates, patches and applies.
 */
export function countFor(series: readonly RequestSeries[], group: string, resource: string): { writes: number; dryRuns: number; reads: number } {
  let writes = 0;
  let dryRuns = 0;
  let reads = 0;
  for (const s of series) {
    if (s.labels.group !== group || s.labels.resource !== resource) continue;
    const verb = s.labels.verb ?? '';
    if (READ_VERBS.has(verb)) reads += s.value;
    else if (verb === 'DELETE' || verb === 'DELETECOLLECTION') continue;
    else if (s.labels.dry_run) dryRuns += s.value;
    else writes += s.value;
  }
  return { writes, dryRuns, reads };
}
