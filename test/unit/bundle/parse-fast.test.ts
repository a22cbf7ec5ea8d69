// The fast path of manifest parsing (js-yaml) against the yaml path it stands in for:
// wherever it answers, the answer must be the yaml path's, on released manifests, on
// edge cases and on corrupted copies of real manifests; where the two could differ it
// must decline.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_PATH_MIN_LENGTH, parseManifests, parseManifestsFast, parseManifestsWithYaml } from '../../../apply-controller/bundle/parse.ts';
import { parseDocumentsFast } from '../../../apply-controller/bundle/parse-fast.ts';
import { configMaps, manifestFiles } from '../../../bench/workloads/support/packages.ts';

const corpus = join(import.meta.dirname, '../../../../shared/realworld/corpus');
const corpusFiles = readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

/** The whole result, -0 and non-finite numbers told apart from 0 and from strings. */
const exact = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `number ${Object.is(v, -0) ? '-0' : String(v)}` : v));

/** True unless the fast path answers with something other than the yaml path's result. */
function same(text: string, file = 'f.yaml'): boolean {
  const fast = parseManifestsFast(text, file);
  return fast === undefined || exact(fast) === exact(parseManifestsWithYaml(text, file));
}

test('every file of the corpus of released manifests takes the fast path, with the yaml path\'s objects', (t) => {
  t.true(corpusFiles.length > 80);
  for (const file of corpusFiles) {
    const text = readFileSync(join(corpus, file), 'utf8');
    t.not(parseDocumentsFast(text), undefined, `${file} takes the fast path`);
    t.true(same(text, file), file);
  }
});

test('large files, like the benchmark\'s ConfigMap files, take the fast path in parseManifests', (t) => {
  for (const [file, text] of Object.entries(manifestFiles(configMaps(300), 'cm'))) {
    t.true(text.length >= FAST_PATH_MIN_LENGTH, 'large enough for the fast path');
    const fast = parseManifestsFast(text, file);
    t.not(fast, undefined);
    t.is(exact(parseManifests(text, file)), exact(fast));
    t.is(exact(fast), exact(parseManifestsWithYaml(text, file)));
  }
});

test('it declines what the parsers read differently or what only the yaml path reports', (t) => {
  const declined = [
    // explicit tags: `!!float 1` is the number 1 to js-yaml and the string "1" to yaml
    'a: !!float 1\n', 'a: !!int 0b10\n', 'a: !!str 12\n', 'a: ! 12\n', 'a: !<tag:yaml.org,2002:str> 5\n', 'a: !!binary aGk=\n', 'a: !custom x\n',
    // aliases (yaml caps their expansion) and merge keys, inline or quoted
    'a: &x 1\nb: *x\n', 'base: &b {x: 1}\nc:\n  <<: *b\n', '<<: {a: 1}\nb: 2\n', '"<<": 1\n',
    // keys that are not strings: yaml makes `~` "", js-yaml "null"
    '~: a\n', '1: a\n', 'true: a\n',
    // an implicit key longer than YAML's 1,024 characters (yaml refuses it)
    `${'k'.repeat(1_100)}: v\n`, `"${'k'.repeat(1_100)}": v\n`, `${'k'.repeat(990)}${' '.repeat(40)}: v\n`, `"${'\\u0041'.repeat(200)}": v\n`,
    // directives, and a stray document end marker (the document counts differ)
    '%YAML 1.1\n---\na: yes\n', '...\n---\na: 1\n',
    // errors: duplicate keys, syntax, nesting past js-yaml's depth limit
    'a: 1\na: 2\n', 'a: [1\n', `a: ${'['.repeat(150)}${']'.repeat(150)}\n`,
  ];
  for (const text of declined) {
    t.is(parseDocumentsFast(text), undefined, JSON.stringify(text.slice(0, 60)));
    t.true(same(text), JSON.stringify(text.slice(0, 60)));
  }
});

test('scalars, strings and document structure read the same on both paths', (t) => {
  const scalars = ['012', '0o14', '0x1F', '-0x1F', '1_000', '+12', '-0', '0b101', '1e3', '.5', '1.', '-.inf', '.NaN', '1:20', '2001-12-14', 'yes', 'on', 'Null', 'NULL', '~', '',
    'True', 'tRue', '12345678901234567890', '0.1e-2', '1e', '0o8', '0xG', '"\\x41\\u263A\\U0001F600\\N\\_\\L\\P\\/\\t"', "'it''s'", '"\\ud800"'];
  const documents = ['', '---\n', '# c\n', 'a: 1\n---\n', '---\n---\na: 1\n', '# h\n---\n---\na: 1\n', '--- |\n  x\n', 'a: 1\n--- \n---\n# x\n---\nb: 1\n',
    'a: |\n  x\n\nb: 1\n', 'a: >\n  x\n  y\n\n  z\n', 'a: |-\n  x\n', 'a: |+\n  x\n\n', 'a: >2\n   x\n', 'a: "x\n  y"\n', 'a: x\n  y\n', '\ufeffa: 1\n', 'a: 1\r\nb: 2\r\n',
    'a: b # c\n', 'a: b#c\n', '__proto__: {polluted: 1}\nb: 2\n', '{"a": 1, "b": [true, null]}\n', '- a\n- b\n', '"a"\n', 'kind: List\nitems:\n- {apiVersion: v1, kind: X, metadata: {name: a}}\n- 3\n',
    'x: Hello ! world\n', 'x: a!b\n', 'x: !=1\n', 'a: @x\n', 'a: `x\n', 'a: x: y\n', '? a\n: b\n', 'a: {b: , c}\n', 'a: [b: c]\n'];
  const texts = [...scalars.flatMap((s) => [`v: ${s}\n`, `- ${s}\n`, `[${s}]\n`]), ...documents];
  let fast = 0;
  for (const text of texts) {
    if (parseDocumentsFast(text) !== undefined) fast++;
    t.true(same(text), JSON.stringify(text));
  }
  t.true(fast > texts.length / 2, `${fast} of ${texts.length} took the fast path`);
  t.is(Object.getPrototypeOf(parseManifests('__proto__: {polluted: 1}\nb: 2\n', 'f').objects.at(0)?.object ?? {}), Object.prototype);
});

test('corrupted copies of real manifests: wherever the fast path answers, the yaml path answers the same', (t) => {
  // A fixed-seed generator, so that a failure names a case that can be replayed.
  let seed = 20_261_204;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const texts = corpusFiles.filter((f) => !f.endsWith('.json')).map((f) => readFileSync(join(corpus, f), 'utf8').split('\n'));
  const inserts = [':', '-', '?', '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', ' ', '\t', '\n', '---\n', '...', '\\', 'a', '1', '~', '<<', ': ', '- ', '\r', '"\\'];
  let fast = 0;
  const rounds = 3_000;
  for (let i = 0; i < rounds; i++) {
    const lines = pick(texts);
    const start = Math.floor(next() * Math.max(1, lines.length - 30));
    let text = `${lines.slice(start, start + 5 + Math.floor(next() * 40)).join('\n')}\n`;
    for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
      const at = Math.floor(next() * text.length);
      const kind = next();
      if (kind < 0.35) text = text.slice(0, at) + pick(inserts) + text.slice(at);
      else if (kind < 0.6) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 3));
      else {
        const all = text.split('\n');
        const line = Math.floor(next() * all.length);
        if (kind < 0.8) all.splice(line, 0, all[line] ?? '');
        else all[line] = (next() < 0.5 ? ' ' : '') + (all[line] ?? '').slice(next() < 0.5 ? 1 : 0);
        text = all.join('\n');
      }
    }
    if (parseDocumentsFast(text) === undefined) continue;
    fast++;
    if (!same(text)) t.fail(`case ${i}: ${JSON.stringify(text)}`);
  }
  t.true(fast > rounds / 10, `${fast} of ${rounds} took the fast path`);
});
