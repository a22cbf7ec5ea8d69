/**
 * CEL expressions of user-defined health checks, compiled once and evaluated
 * against one object as read from the cluster (bound to the variable `object`).
 *
 * `@bufbuild/cel` has no type checker in its public API and no cost limit, so
 * what compiling can catch is caught here by walking the parsed expression:
 * syntax, unknown variables and functions, message literals (no types are
 * registered). Cost is bounded by shape instead of by a counter: an expression
 * is at most {@link MAX_EXPRESSION_LENGTH} characters and nests at most
 * {@link MAX_COMPREHENSION_DEPTH} macro (`all`, `exists`, `map`, `filter`) in
 * another, so one evaluation is linear in the size of the object (CEL has no
 * loops, and its regular expressions are RE2: linear too).
 */
import { celEnv, isCelError, isCelList, isCelMap, parse, plan, type CelValue } from '@bufbuild/cel';

/** The variable an expression reads the object from. */
export const OBJECT_VARIABLE = 'object';
/** The longest expression accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 1024;
/** How deep macros (`all`, `exists`, `exists_one`, `map`, `filter`) may nest: one over a list, none inside it. */
export const MAX_COMPREHENSION_DEPTH = 1;
/** The longest message an expression may produce; longer ones are cut. */
export const MAX_MESSAGE_LENGTH = 512;
/** Compiled expressions kept for reuse (annotations are compiled on every look, so they are cached). */
const CACHE_SIZE = 512;

/** What an expression must produce. */
export type ExpressionResult = 'bool' | 'string';

/** An expression that passed {@link compileExpression}: evaluate it with {@link evaluateExpression}. */
export interface CompiledExpression {
  /** The expression as written. */
  readonly source: string;
  readonly result: ExpressionResult;
  readonly run: (bindings: Record<string, unknown>) => unknown;
}

/** An expression refused at compile time; the message says why (no prefix: the caller names the field). */
export class InvalidExpressionError extends Error {
  override readonly name = 'InvalidExpressionError';
}

/** The outcome of one evaluation: the value, or why there is none (a missing field, a wrong type). */
export type EvaluationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const env = celEnv();

/** Operators the planner implements itself rather than through the function table. */
const SPECIAL_FUNCTIONS = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false']);
/** Type names an expression may use as values (`type(x) == string`). */
const TYPE_IDENTIFIERS = new Set(['bool', 'bytes', 'double', 'int', 'list', 'map', 'null_type', 'string', 'type', 'uint']);

/** The parts of the parsed expression tree the walk reads (the protobuf `cel.expr.Expr`). */
interface ExprNode {
  readonly exprKind: { readonly case: string | undefined; readonly value?: unknown };
}

type Child = ExprNode | undefined;

function children(kind: ExprNode['exprKind']): { nodes: Child[]; scoped?: { vars: string[]; nodes: Child[] } } {
  const v = kind.value as Record<string, unknown> | undefined;
  switch (kind.case) {
    case 'callExpr': return { nodes: [...(v?.target ? [v.target as ExprNode] : []), ...(v?.args as ExprNode[])] };
    case 'selectExpr': return { nodes: [v?.operand as ExprNode] };
    case 'listExpr': return { nodes: [...(v?.elements as ExprNode[])] };
    case 'structExpr': return {
      nodes: (v?.entries as { keyKind: { case: string; value: unknown }; value: ExprNode }[])
        .flatMap((e) => [...(e.keyKind.case === 'mapKey' ? [e.keyKind.value as ExprNode] : []), e.value]),
    };
    case 'comprehensionExpr': {
      const c = v as Record<string, Child> & { iterVar: string; accuVar: string };
      return {
        nodes: [c.iterRange, c.accuInit],
        scoped: { vars: [c.iterVar, c.accuVar], nodes: [c.loopCondition, c.loopStep, c.result] },
      };
    }
    default: return { nodes: [] };
  }
}

/** Why the parsed expression cannot run, or undefined. */
function shapeProblem(node: ExprNode | undefined, scope: ReadonlySet<string>, depth: number): string | undefined {
  if (node === undefined) return undefined;
  const kind = node.exprKind;
  const value = kind.value as Record<string, unknown> | undefined;
  if (kind.case === 'identExpr') {
    const name = String(value?.name);
    if (scope.has(name) || TYPE_IDENTIFIERS.has(name)) return undefined;
    return `unknown variable "${name}" (the object is "${OBJECT_VARIABLE}", e.g. ${OBJECT_VARIABLE}.status.phase)`;
  }
  if (kind.case === 'callExpr') {
    const fn = String(value?.function);
    if (!SPECIAL_FUNCTIONS.has(fn) && env.funcs.find(fn) === undefined) return `unknown function "${fn}"`;
  }
  if (kind.case === 'structExpr' && typeof value?.messageName === 'string' && value.messageName !== '') {
    return `message types are not available ("${value.messageName}{...}")`;
  }
  const { nodes, scoped } = children(kind);
  for (const child of nodes) {
    const found = shapeProblem(child, scope, depth);
    if (found) return found;
  }
  if (scoped) {
    if (depth >= MAX_COMPREHENSION_DEPTH) {
      return `macros (all, exists, exists_one, map, filter) may not be nested more than ${MAX_COMPREHENSION_DEPTH} deep`;
    }
    const inner = new Set([...scope, ...scoped.vars]);
    for (const child of scoped.nodes) {
      const found = shapeProblem(child, inner, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

const cache = new Map<string, CompiledExpression>();

/**
 * Parses and checks `source`; throws an {@link InvalidExpressionError} when it
 * is longer than `maxLength`, does not parse, or names a variable other than
 * `object` or a function CEL does not have. Compiled expressions are cached by
 * source. (Only expressions Trellis writes itself, from the declarative form,
 * pass a larger `maxLength`.)
 */
export function compileExpression(source: string, result: ExpressionResult, maxLength = MAX_EXPRESSION_LENGTH): CompiledExpression {
  const key = `${result}\n${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (source.trim() === '') throw new InvalidExpressionError('the expression is empty');
  if (source.length > maxLength) {
    throw new InvalidExpressionError(`the expression is ${source.length} characters long; at most ${maxLength} are allowed`);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    throw new InvalidExpressionError(`not a CEL expression: ${err instanceof Error ? err.message : String(err)}`);
  }
  const problem = shapeProblem(parsed.expr, new Set([OBJECT_VARIABLE]), 0);
  if (problem) throw new InvalidExpressionError(problem);
  const planned = plan(env, parsed);
  const compiled: CompiledExpression = { source, result, run: (bindings) => planned(bindings as Parameters<typeof planned>[0]) };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
}

/** A CEL value as text for a message: strings as they are, numbers and booleans written out. */
function asText(value: CelValue): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (isCelList(value)) return 'list';
  if (isCelMap(value)) return 'map';
  return typeof value === 'bigint' ? 'int' : typeof value === 'number' ? 'double' : typeof value;
}

/**
 * Evaluates a compiled expression with `object` bound to `obj`. Never throws:
 * a missing field, a type mismatch or a result of the wrong type comes back as
 * an error message (which a health check turns into InProgress).
 */
export function evaluateExpression(expr: CompiledExpression, obj: Record<string, unknown>): EvaluationResult<boolean | string> {
  let value: unknown;
  try {
    value = expr.run({ [OBJECT_VARIABLE]: obj });
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (isCelError(value)) return { ok: false, error: value.message };
  if (expr.result === 'bool') {
    return typeof value === 'boolean' ? { ok: true, value } : { ok: false, error: `the result is a ${kindOf(value)}, not a bool` };
  }
  const text = asText(value as CelValue);
  if (text === undefined) return { ok: false, error: `the result is a ${kindOf(value)}, not a string` };
  return { ok: true, value: text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text };
}
