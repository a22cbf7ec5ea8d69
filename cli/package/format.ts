/**
 * How `kubectl package` shows things: kubectl-style tables (upper-case headers,
 * columns three spaces apart, no trailing blanks), kubectl's ages (`45s`,
 * `3m10s`, `5h`, `2d3h`), short revisions, and colour only where a person is
 * looking. Pure: the caller says whether colour is on.
 */

/** Colours a table cell or a status word may carry. */
export type Color = 'green' | 'red' | 'yellow' | 'gray' | 'bold';

/** A table cell: text, optionally coloured (the colour never changes the column width). */
export type Cell = string | { readonly text: string; readonly color?: Color | undefined };

const ANSI: Record<Color, readonly [string, string]> = {
  green: ['\u001b[32m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  gray: ['\u001b[90m', '\u001b[39m'],
  bold: ['\u001b[1m', '\u001b[22m'],
};

/** `text` in `color` when `enabled`. */
export function paint(text: string, color: Color | undefined, enabled: boolean): string {
  if (!enabled || color === undefined || text === '') return text;
  const [open, close] = ANSI[color];
  return `${open}${text}${close}`;
}

/**
 * Whether to colour output written to a stream: only on a terminal, never with
 * `NO_COLOR` set (https://no-color.org) or `TERM=dumb`.
 */
export function colorEnabled(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

function cellText(cell: Cell): string {
  return typeof cell === 'string' ? cell : cell.text;
}

/** A kubectl-style table: headers upper-cased, columns padded to the widest cell plus three spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[], color = false): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => oneLine(cellText(c))))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  const lines = all.map((texts, rowIndex) => texts.map((text, i) => {
    const cell = rowIndex === 0 ? text : rows[rowIndex - 1]?.[i] ?? '';
    const colorOf = typeof cell === 'string' ? undefined : cell.color;
    const shown = paint(text, colorOf, color);
    const last = i === texts.length - 1;
    return last ? shown : shown + ' '.repeat((widths[i] ?? 0) - [...text].length + 3);
  }).join('').trimEnd());
  return `${lines.join('\n')}\n`;
}

/** The first line of a message (conditions may hold several); tables show one line per row. */
export function oneLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : `${text.slice(0, nl)} …`;
}

/** kubectl's human duration (k8s.io/apimachinery/pkg/util/duration.HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** The age of an object from its RFC 3339 timestamp; `<unknown>` without one, as kubectl prints. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

/**
 * A source revision short enough for a table: `1.4.0@sha256:<12 hex>`,
 * `main@sha1:<12 hex>`; anything else as it is. Full revisions are in `-o yaml`.
 */
export function shortRevision(revision: string | undefined): string {
  if (!revision) return '';
  const m = /^(.*?)(sha1|sha256):([0-9a-f]{12})[0-9a-f]+$/.exec(revision);
  return m ? `${m[1] ?? ''}${m[2] ?? ''}:${m[3] ?? ''}` : revision;
}

/** The colour of a condition status word: True green, False red, anything else yellow. */
export function statusColor(status: string | undefined): Color {
  if (status === 'True') return 'green';
  if (status === 'False') return 'red';
  return 'yellow';
}
