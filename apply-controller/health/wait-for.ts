/**
 * The per-object opt-in to wait for more than kstatus does. kstatus calls a
 * started Job and a LoadBalancer Service with a cluster IP Current; a package
 * that needs the Job's result, or the load balancer's address, before its next
 * phase says so on the object itself, so the verdict stays a function of the
 * object alone.
 */
import { annotation, kindKey, type ClusterObject } from './status.ts';

/** The annotation an object carries to ask for a stricter verdict. */
export const WAIT_FOR_ANNOTATION = 'health.trellis.dev/wait-for';

/** What an object may ask to wait for. */
export type WaitFor = 'complete' | 'load-balancer';

/** The values each kind understands, by `group/Kind`. */
const UNDERSTOOD: ReadonlyMap<string, readonly WaitFor[]> = new Map<string, readonly WaitFor[]>([
  ['batch/Job', ['complete']],
  ['/Pod', ['complete']],
  ['/Service', ['load-balancer']],
]);

/** True when `obj` carries the opt-in `value` (the rule of its kind acts on it). */
export function waitsFor(obj: ClusterObject, value: WaitFor): boolean {
  return annotation(obj, WAIT_FOR_ANNOTATION) === value;
}

/**
 * Why the object's opt-in cannot be honoured (a value its kind does not know,
 * or the annotation on a kind that has none), or undefined when it is absent or
 * fine. A misspelt opt-in must not silently fall back to the laxer default, so
 * the verdict for such an object is Unknown with this message; bundle checks
 * can call it to refuse the object before anything is applied.
 */
export function waitForProblem(obj: ClusterObject): string | undefined {
  const value = annotation(obj, WAIT_FOR_ANNOTATION);
  if (value === undefined) return undefined;
  const understood = UNDERSTOOD.get(kindKey(obj)) ?? [];
  if ((understood as readonly string[]).includes(value)) return undefined;
  const kind = String(obj.kind);
  const allowed = understood.length > 0 ? `use ${understood.map((v) => `"${v}"`).join(' or ')}` : `a ${kind} has nothing more to wait for`;
  return `annotation ${WAIT_FOR_ANNOTATION}: "${value}" is not understood for a ${kind} (${allowed})`;
}
