/**
 * What a run measures, from the command line: which workloads (`--only
 * drift,noop`: names, numbers or unambiguous name prefixes) and at which sizes
 * (`--objects 1000,5k`). Pure, so the parsing is tested without a cluster.
 */

/** Raised for a selection or size the command line cannot mean. */
export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

/** What selection needs of a workload. */
export interface Selectable {
  readonly name: string;
  readonly number: number;
}

/**
 * The workloads `requested` names, in the order of `all`, each once. Every
 * item may hold a comma-separated list; an item is a workload's number, its
 * name, or a prefix of exactly one name (`noop` for `noop-reconcile`). No
 * items: every workload.
 */
export function selectWorkloads<W extends Selectable>(requested: readonly string[], all: readonly W[]): W[] {
  const names = requested.flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '');
  if (names.length === 0) return [...all];
  const chosen = new Set<W>();
  const known = all.map((w) => w.name).join(', ');
  for (const name of names) {
    const exact = all.find((w) => w.name === name || String(w.number) === name);
    const prefixed = all.filter((w) => w.name.startsWith(name));
    const found = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
    if (!found) {
      throw new SelectionError(prefixed.length > 1
        ? `${JSON.stringify(name)} could be ${prefixed.map((w) => w.name).join(' or ')}`
        : `no workload ${JSON.stringify(name)} (there are: ${known})`);
    }
    chosen.add(found);
  }
  return all.filter((w) => chosen.has(w));
}

/** A count of at least 1: `5000`, `5_000` or `5k`. */
export function parseCount(text: string): number {
  const m = /^(\d[\d_]*)(k?)$/i.exec(text.trim());
  const n = m ? Number(m[1]!.replace(/_/g, '')) * (m[2] ? 1_000 : 1) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new SelectionError(`${JSON.stringify(text)} is not a whole number of at least 1 (5000, 5_000 or 5k)`);
  return n;
}

/** Comma-separated counts (`1000,5k`), ascending, each once. */
export function parseCountList(text: string): number[] {
  const items = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (items.length === 0) throw new SelectionError('at least one size is needed');
  return [...new Set(items.map(parseCount))].sort((a, b) => a - b);
}
