/**
 * Reading the Prometheus text exposition format (what the apiserver serves at
 * `/metrics`) and counting API requests from `apiserver_request_total`: the
 * apiserver's own count, so a benchmark sees every request a controller made,
 * whichever client library made it.
 */

/** One sample line: metric name, labels, value. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Raised for a line that is not valid exposition format. */
export class MetricsParseError extends Error {
  override readonly name = 'MetricsParseError';
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: number): number {
  switch (text) {
    case '+Inf': return Number.POSITIVE_INFINITY;
    case '-Inf': return Number.NEGATIVE_INFINITY;
    case 'NaN': return Number.NaN;
  }
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new MetricsParseError(`line ${line}: ${JSON.stringify(text)} is not a sample value`);
  return value;
}

/** Parses `{a="x",b="y\"z"}` starting at `text[0] === '{'`; returns the labels and the rest of the line. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  const fail = (why: string): never => { throw new MetricsParseError(`line ${line}: ${why}`); };
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (!name) fail('label name expected');
    i += name!.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=' || text[i + 1] !== '"') fail(`label ${name!} without a quoted value`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) fail(`label ${name!}: unterminated value`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i++];
        value += next === 'n' ? '\n' : (next ?? '');
      } else {
        value += c;
      }
    }
    labels[name!] = value;
  }
}

/** Every sample of a metrics page (comments and blank lines skipped; timestamps ignored). */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new MetricsParseError(`line ${n + 1}: metric name expected`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, n + 1));
    const [value] = rest.trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(value ?? '', n + 1) });
  }
  return samples;
}

/** One row of a request count: verb, API group and resource (with subresource), and how many. */
export interface RequestCount {
  /** `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY`, `DELETE`, ... */
  readonly verb: string;
  /** The API group: empty for the core group (and for non-resource URLs), `apply.trellis.dev`, `apps`, ... */
  readonly group: string;
  /** `configmaps`, `packages/status`; empty for non-resource URLs (`/metrics`, `/version`). */
  readonly resource: string;
  readonly dryRun: boolean;
  readonly count: number;
}

/** HTTP verbs of `apiserver_request_total` that change state (unless dry-run). */
export const WRITE_VERBS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION', 'CREATE', 'UPDATE']);

/** The identity of a row (everything but the count). */
function rowKey(r: RequestCount): string {
  return `${r.verb} ${r.group} ${r.resource} ${r.dryRun}`;
}

/** `apiserver_request_total` summed over codes, scopes, components and versions: one row per verb, group, resource and dry-run. */
export function requestCounts(samples: readonly MetricSample[]): RequestCount[] {
  const totals = new Map<string, RequestCount>();
  for (const s of samples) {
    if (s.name !== 'apiserver_request_total') continue;
    const row = {
      verb: s.labels.verb ?? '',
      group: s.labels.group ?? '',
      resource: s.labels.subresource ? `${s.labels.resource ?? ''}/${s.labels.subresource}` : (s.labels.resource ?? ''),
      dryRun: (s.labels.dry_run ?? '') !== '',
    };
    const key = rowKey({ ...row, count: 0 });
    totals.set(key, { ...row, count: (totals.get(key)?.count ?? 0) + s.value });
  }
  return [...totals.values()];
}

/**
 * What happened between two counts: `after - before` per row, rows without
 * change left out. A counter that went down (apiserver restarted) counts from 0.
 */
export function requestDelta(before: readonly RequestCount[], after: readonly RequestCount[]): RequestCount[] {
  const base = new Map(before.map((r) => [rowKey(r), r.count]));
  const out: RequestCount[] = [];
  for (const r of after) {
    const was = base.get(rowKey(r)) ?? 0;
    const delta = r.count >= was ? r.count - was : r.count;
    if (delta > 0) out.push({ ...r, count: delta });
  }
  return out.sort((a, b) => b.count - a.count || rowKey(a).localeCompare(rowKey(b)));
}

/** `rows - subtract`, per row, never below zero (removes requests the benchmark itself made, or idle background). */
export function subtractRequests(rows: readonly RequestCount[], subtract: readonly RequestCount[]): RequestCount[] {
  const minus = new Map<string, number>();
  for (const r of subtract) minus.set(rowKey(r), (minus.get(rowKey(r)) ?? 0) + r.count);
  return rows.map((r) => ({ ...r, count: Math.max(0, r.count - (minus.get(rowKey(r)) ?? 0)) })).filter((r) => r.count > 0);
}

/** True for a request that changed state: a write verb, not a dry run. */
export function isWrite(r: RequestCount): boolean {
  return !r.dryRun && WRITE_VERBS.has(r.verb);
}

/** The sum of the rows' counts. */
export function totalRequests(rows: readonly RequestCount[]): number {
  return rows.reduce((n, r) => n + r.count, 0);
}

/**
 * Short form for notes: `12 LIST configmaps, 1 PATCH packages/status, 2 POST
 * events.events.k8s.io`. The group is named only outside the core and Trellis
 * groups, where a resource name alone could be mistaken for another.
 */
export function describeRequests(rows: readonly RequestCount[]): string {
  if (rows.length === 0) return 'none';
  const named = (r: RequestCount): string => {
    if (!r.resource) return '(non-resource)';
    return r.group === '' || r.group.endsWith('trellis.dev') ? r.resource : `${r.resource}.${r.group}`;
  };
  return rows.map((r) => `${r.count} ${r.verb}${r.dryRun ? ' (dry-run)' : ''} ${named(r)}`).join(', ');
}
