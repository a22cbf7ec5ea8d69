/**
 * The result of an apply or a delete: one entry per object saying what happened
 * to it, and a one-line summary for events and conditions.
 */

/** What happened to one object. */
export type ChangeAction = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'recreated';

/** Actions in the order a summary lists them: writes first, then what was left alone. */
export const CHANGE_ACTIONS: readonly ChangeAction[] = ['created', 'recreated', 'configured', 'deleted', 'skipped', 'unchanged'];

/** One object's outcome. */
export interface ChangeSetEntry {
  /** Inventory id `<ns>_<name>_<group>_<kind>`. */
  readonly id: string;
  /** `Kind/namespace/name` (`Kind/name` when cluster-scoped), the way people read it. */
  readonly subject: string;
  readonly action: ChangeAction;
  /** The phase the object belongs to, when the caller said. */
  readonly phase?: string;
}

/** Words a summary uses per action; the defaults are the action names. */
export type ActionWords = Partial<Readonly<Record<ChangeAction, string>>>;

/** An ordered, append-only list of {@link ChangeSetEntry}. */
export class ChangeSet {
  readonly #entries: ChangeSetEntry[] = [];

  constructor(entries: Iterable<ChangeSetEntry> = []) {
    for (const e of entries) this.#entries.push(e);
  }

  /** The entries in the order they were added. */
  get entries(): readonly ChangeSetEntry[] {
    return this.#entries;
  }

  /** Adds an entry. */
  add(entry: ChangeSetEntry): void {
    this.#entries.push(entry);
  }

  /** Adds every entry of `other`, keeping its order. */
  append(other: ChangeSet): void {
    for (const e of other.entries) this.#entries.push(e);
  }

  /** How many entries have `action`. */
  count(action: ChangeAction): number {
    return this.#entries.filter((e) => e.action === action).length;
  }

  /** The entries with `action`. */
  withAction(action: ChangeAction): ChangeSetEntry[] {
    return this.#entries.filter((e) => e.action === action);
  }

  /** True when something was written (created, recreated, configured or deleted). */
  get changed(): boolean {
    return this.#entries.some((e) => e.action !== 'unchanged' && e.action !== 'skipped');
  }

  /**
   * Counts by action in a fixed order, zero counts left out:
   * `3 created, 1 configured, 2 unchanged`; `no objects` when empty. `words`
   * renames actions, e.g. `{deleted: 'pruned'}` for a prune.
   */
  summary(words: ActionWords = {}): string {
    const parts = CHANGE_ACTIONS
      .map((action) => [this.count(action), words[action] ?? action] as const)
      .filter(([n]) => n > 0)
      .map(([n, word]) => `${n} ${word}`);
    return parts.length === 0 ? 'no objects' : parts.join(', ');
  }

  /** The entries as plain data (for logs and JSON). */
  toJSON(): ChangeSetEntry[] {
    return [...this.#entries];
  }
}
