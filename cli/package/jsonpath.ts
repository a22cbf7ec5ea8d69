/**
 * `-o jsonpath=TEMPLATE`: the subset of kubectl's JSONPath templates people use
 * in scripts. Text outside braces is printed as written; inside braces:
 *
 * - paths: `.a.b`, `$.a`, `['a.b/c']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `.*`,
 *   `..name` (any depth), filters `[?(@.type=="Ready")]` (`==`, `!=`, `<`, `>`,
 *   `<=`, `>=`, or a bare `@.x` for "present");
 * - string literals: `{"\n"}`, `{"\t"}`;
 * - `{range PATH}…{end}`: the body once per element.
 *
 * Several results of one path are joined by spaces; a missing field prints
 * nothing (kubectl's default `--allow-missing-template-keys`). Pure.
 */

/** A template that cannot be parsed. */
export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

type Literal = string | number | boolean | null;

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'all' }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'slice'; readonly start?: number | undefined; readonly end?: number | undefined }
  | { readonly kind: 'descend'; readonly name: string }
  | { readonly kind: 'filter'; readonly path: readonly Step[]; readonly op?: string | undefined; readonly value?: Literal | undefined };

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'path'; readonly steps: readonly Step[] }
  | { readonly kind: 'range'; readonly steps: readonly Step[]; readonly body: readonly Node[] };

/** A parsed template, ready to run on any number of values. */
export interface JsonPathTemplate {
  /** The template's output for `root`. */
  execute(root: unknown): string;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

function unquote(text: string): string {
  return text.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c);
}

function parseLiteral(text: string): Literal {
  const t = text.trim();
  if (/^(["']).*\1$/s.test(t)) return unquote(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  throw new JsonPathError(`"${t}" is not a literal (a quoted string, a number, true, false or null)`);
}

/** Index of the bracket closing the one at `open`, skipping quoted text. */
function closingBracket(path: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < path.length; i += 1) {
    const c = path[i];
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === '\'') quote = c;
    else if (c === '[') depth += 1;
    else if (c === ']') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new JsonPathError(`unclosed "[" in "${path}"`);
}

const FILTER = /^\?\(\s*(@[^=!<>]*?)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$/s;
const INDEX = /^-?\d+$/;
const SLICE = /^(-?\d*):(-?\d*)$/;

function bracketStep(inner: string): Step {
  const text = inner.trim();
  if (text === '*') return { kind: 'all' };
  if (INDEX.test(text)) return { kind: 'index', index: Number(text) };
  const slice = SLICE.exec(text);
  if (slice) {
    const bound = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));
    return { kind: 'slice', start: bound(slice[1]), end: bound(slice[2]) };
  }
  if (/^(["']).*\1$/s.test(text)) return { kind: 'field', name: unquote(text) };
  const filter = FILTER.exec(text);
  if (filter) {
    const path = parsePath((filter[1] ?? '@').slice(1));
    return filter[2] === undefined ? { kind: 'filter', path } : { kind: 'filter', path, op: filter[2], value: parseLiteral(filter[3] ?? '') };
  }
  throw new JsonPathError(`"[${text}]" is not an index, a slice, a quoted key, [*] or a filter [?(@.field=="value")]`);
}

/** Parses `.a.b[0]['c']..d` into steps. */
function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  let i = path.startsWith('$') ? 1 : 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '[') {
      const close = closingBracket(path, i);
      steps.push(bracketStep(path.slice(i + 1, close)));
      i = close + 1;
    } else if (c === '.') {
      const descend = path[i + 1] === '.';
      const start = i + (descend ? 2 : 1);
      const name = /^[^.[\]]*/.exec(path.slice(start))?.[0] ?? '';
      if (name === '' && !(descend && path[start] === '[')) {
        if (!descend && start >= path.length) break; // a lone "." is the current value
        throw new JsonPathError(`a field name must follow "${descend ? '..' : '.'}" in "${path}"`);
      }
      if (descend) steps.push({ kind: 'descend', name: name || '*' });
      else steps.push(name === '*' ? { kind: 'all' } : { kind: 'field', name });
      i = start + name.length;
    } else if (c === ' ' || c === '\t') {
      i += 1;
    } else {
      throw new JsonPathError(`unexpected "${c}" in "${path}": paths start with "." (for example {.metadata.name})`);
    }
  }
  return steps;
}

function childrenOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value as unknown[];
  if (value !== null && typeof value === 'object') return Object.values(value as Record<string, unknown>);
  return [];
}

function descendants(value: unknown, name: string, out: unknown[]): void {
  if (value === null || typeof value !== 'object') return;
  if (!Array.isArray(value)) {
    if (name === '*') out.push(...Object.values(value as Record<string, unknown>));
    else if (Object.hasOwn(value, name)) out.push((value as Record<string, unknown>)[name]);
  }
  for (const child of childrenOf(value)) descendants(child, name, out);
}

function compare(left: unknown, op: string, right: Literal | undefined): boolean {
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  if (typeof left !== typeof right || (typeof left !== 'number' && typeof left !== 'string')) return false;
  const l = left;
  const r = right as number | string;
  return op === '<' ? l < r : op === '>' ? l > r : op === '<=' ? l <= r : l >= r;
}

function applyStep(values: readonly unknown[], step: Step): unknown[] {
  const out: unknown[] = [];
  for (const value of values) {
    switch (step.kind) {
      case 'field':
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, step.name)) {
          out.push((value as Record<string, unknown>)[step.name]);
        }
        break;
      case 'all':
        out.push(...childrenOf(value));
        break;
      case 'index':
        if (Array.isArray(value)) {
          const item: unknown = value.at(step.index);
          if (item !== undefined) out.push(item);
        }
        break;
      case 'slice':
        if (Array.isArray(value)) out.push(...(value as unknown[]).slice(step.start ?? 0, step.end ?? value.length));
        break;
      case 'descend':
        descendants(value, step.name, out);
        break;
      case 'filter':
        for (const item of childrenOf(value)) {
          const found = evaluate(item, step.path);
          if (step.op === undefined ? found.length > 0 : found.some((f) => compare(f, step.op ?? '==', step.value))) out.push(item);
        }
        break;
    }
  }
  return out;
}

function evaluate(root: unknown, steps: readonly Step[]): unknown[] {
  return steps.reduce<unknown[]>((values, step) => applyStep(values, step), [root]);
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? '';
}

/** Splits the template into text and `{…}` actions, and nests `range … end`. */
function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: { nodes: Node[]; steps?: Step[] }[] = [{ nodes: root }];
  const top = (): Node[] => stack[stack.length - 1]?.nodes ?? root;
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      top().push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) top().push({ kind: 'text', text: template.slice(i, open) });
    const close = closingBrace(template, open);
    const action = template.slice(open + 1, close).trim();
    if (/^(["']).*\1$/s.test(action)) top().push({ kind: 'text', text: unquote(action) });
    else if (action === 'end') {
      const done = stack.pop();
      if (!done?.steps || stack.length === 0) throw new JsonPathError('{end} without a {range}');
      top().push({ kind: 'range', steps: done.steps, body: done.nodes });
    } else if (/^range\s/.test(action)) stack.push({ nodes: [], steps: parsePath(action.slice(6).trim()) });
    else top().push({ kind: 'path', steps: parsePath(action) });
    i = close + 1;
  }
  if (stack.length > 1) throw new JsonPathError('{range} without an {end}');
  return root;
}

function closingBrace(template: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < template.length; i += 1) {
    const c = template[i];
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === '\'') quote = c;
    else if (c === '}') return i;
  }
  throw new JsonPathError(`unclosed "{" in "${template}"`);
}

function run(nodes: readonly Node[], current: unknown): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'path') out += evaluate(current, node.steps).map(show).join(' ');
    else for (const item of evaluate(current, node.steps).flatMap((v): unknown[] => (Array.isArray(v) ? v as unknown[] : [v]))) out += run(node.body, item);
  }
  return out;
}

/**
 * Parses a kubectl-style JSONPath template (the part after `jsonpath=`; one
 * pair of surrounding quotes is dropped, as kubectl does). Throws
 * {@link JsonPathError} naming what is wrong.
 */
export function parseJsonPath(template: string): JsonPathTemplate {
  const text = /^(["']).*\1$/s.test(template) ? template.slice(1, -1) : template;
  if (text.trim() === '') throw new JsonPathError('the template is empty (for example jsonpath={.metadata.name})');
  const nodes = parseTemplate(text);
  return { execute: (root) => run(nodes, root) };
}
