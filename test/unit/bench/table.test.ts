// Markdown table rendering for the benchmark report.
import test from 'ava';
import { escapeCell, renderMarkdownTable, TableShapeError } from '../../../bench/framework/table.ts';

test('columns are padded to one width, right-aligned columns get a colon in the separator', (t) => {
  const text = renderMarkdownTable([{ title: 'Name' }, { title: 'Time', align: 'right' }], [['git clone', '1.40 s'], ['Trellis', '812 ms']]);
  t.is(text, [
    '| Name      |   Time |',
    '| --------- | -----: |',
    '| git clone | 1.40 s |',
    '| Trellis   | 812 ms |',
    '',
  ].join('\n'));
});

test('a pipe, a backslash or a line break in a cell cannot break the row', (t) => {
  t.is(escapeCell('a|b'), 'a\\|b');
  t.is(escapeCell('a\\b'), 'a\\\\b');
  t.is(escapeCell('line 1\nline 2\r\nline 3'), 'line 1 line 2 line 3');
  const text = renderMarkdownTable([{ title: 'x' }], [['failed: a | b\nc']]);
  const row = text.split('\n')[2]!;
  // One cell: exactly two unescaped pipes (the row's borders).
  t.is(row.replace(/\\\|/g, '').split('|').length - 1, 2);
});

test('narrow columns still get a valid separator of at least three dashes', (t) => {
  const text = renderMarkdownTable([{ title: '#', align: 'right' }, { title: 'n' }], [['1', '2']]);
  t.true(/^\| -+: \| -{3,} \|$/.test(text.split('\n')[1]!));
});

test('a row with the wrong number of cells, or a table without columns, is refused', (t) => {
  t.throws(() => renderMarkdownTable([{ title: 'a' }, { title: 'b' }], [['only one']]), { instanceOf: TableShapeError, message: /row 1 has 1 cells for 2 columns/ });
  t.throws(() => renderMarkdownTable([], []), { instanceOf: TableShapeError });
});

test('a table with no rows is the header and separator only', (t) => {
  t.is(renderMarkdownTable([{ title: 'Workload' }], []), '| Workload |\n| -------- |\n');
});
