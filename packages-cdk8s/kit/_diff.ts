/** The first place two JSON documents differ, for error messages. */

/** Where two documents differ and what each holds there (undefined: absent). */
export interface Difference {
  /** JSON pointer; `""` for the documents themselves. */
  readonly path: string;
  readonly left: unknown;
  readonly right: unknown;
}

const token = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first difference between `left` and `right` in document order, or undefined when they are equal. */
export function firstDifference(left: unknown, right: unknown, path = ''): Difference | undefined {
  if (Array.isArray(left) && Array.isArray(right)) {
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const d = firstDifference(left[i], right[i], `${path}/${i}`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(left) && isObject(right)) {
    const keys = [...Object.keys(left), ...Object.keys(right).filter((k) => !Object.hasOwn(left, k))];
    for (const key of keys) {
      const d = firstDifference(Object.hasOwn(left, key) ? left[key] : undefined, Object.hasOwn(right, key) ? right[key] : undefined,
        `${path}/${token(key)}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(left, right) ? undefined : { path, left, right };
}

/** Short JSON text of a value for a message. */
export function preview(v: unknown, max = 120): string {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
