// flattened() changes how a string is stored, never what it is.
import test from 'ava';
import { flattened } from '../../../apply-controller/bundle/flat-string.ts';
import { canonicalJSON } from '../../../apply-controller/bundle/canonical.ts';
import { parseDocumentsFast } from '../../../apply-controller/bundle/parse-fast.ts';

/** A rope: a string built piece by piece, as js-yaml builds a block scalar. */
function rope(lines: readonly string[]): string {
  let out = '';
  for (const line of lines) out += `${line}\n`;
  return out;
}

test('flattened returns the very string it is given, whatever it holds', (t) => {
  const samples = [
    '', 'short', '0123456789012', '   42   ', '1e400', '-Infinity', 'NaN', '0x1f',
    rope(Array.from({ length: 200 }, (_, i) => `key.${i}=value-${i.toString(36)}`)),
    rope(['ünïcödé línes', 'emoji 🌱🌱🌱', 'tab\there', 'nul\u0000byte']),
  ];
  for (const s of samples) {
    const before = s.slice();
    const out = flattened(s);
    t.is(out, s);
    t.is(out, before);
    t.is(out.length, before.length);
  }
});

test('canonical texts and block scalars read by the fast path keep their values', (t) => {
  const text = rope(Array.from({ length: 100 }, (_, i) => `line ${i} of the configuration`));
  const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  literal: |\n${text.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}\n  folded: >\n    one\n    two\n  number: "12345678901234"\n`;
  const [doc] = parseDocumentsFast(yaml) as [{ data: Record<string, string> }];
  t.is(doc.data.literal, text);
  t.is(doc.data.folded, 'one two\n');
  t.is(doc.data.number, '12345678901234');
  t.is(canonicalJSON(doc), JSON.stringify({ apiVersion: 'v1', data: { folded: 'one two\n', literal: text, number: '12345678901234' }, kind: 'ConfigMap', metadata: { name: 'c' } }));
});
