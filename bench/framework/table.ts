/**
 * Rendering a markdown table: cells are escaped (`|` and line breaks would break
 * a row), columns padded to one width so the table also reads as plain text in
 * a terminal, and numeric columns right-aligned.
 */

/** Column alignment: left or right. */
export type Align = 'left' | 'right';

/** A column of a {@link renderMarkdownTable} table. */
export interface Column {
  readonly title: string;
  readonly align?: Align;
}

/** Raised when a row does not have one cell per column. */
export class TableShapeError extends Error {
  override readonly name = 'TableShapeError';
}

/** A cell's text made safe for one markdown table cell. */
export function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

/** A markdown table (with a trailing newline) of `rows` under `columns`. */
export function renderMarkdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  if (columns.length === 0) throw new TableShapeError('a table needs at least one column');
  const cells = rows.map((row, i) => {
    if (row.length !== columns.length) {
      throw new TableShapeError(`row ${i + 1} has ${row.length} cells for ${columns.length} columns`);
    }
    return row.map(escapeCell);
  });
  const header = columns.map((c) => escapeCell(c.title));
  // The separator needs at least three dashes (and a colon for right alignment).
  const widths = columns.map((c, i) => Math.max(3, (c.align === 'right' ? 1 : 0) + 3, header[i]!.length,
    ...cells.map((r) => r[i]!.length)));
  const pad = (text: string, i: number): string =>
    (columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (values: readonly string[]): string => `| ${values.map(pad).join(' | ')} |`;
  const separator = `| ${columns.map((c, i) => (c.align === 'right' ? `${'-'.repeat(widths[i]! - 1)}:` : '-'.repeat(widths[i]!))).join(' | ')} |`;
  return `${[line(header), separator, ...cells.map(line)].join('\n')}\n`;
}
