/**
 * `path` inside the sandbox: the POSIX functions cdk8s calls while building
 * objects (it joins output file names it never writes here). No working
 * directory exists, so `resolve` treats `/` as the root of everything.
 */

/** The separator. */
export const sep = '/';
/** The list delimiter. */
export const delimiter = ':';

/** Collapses `.`, `..` and repeated slashes. */
export function normalize(p: string): string {
  const absolute = p.startsWith('/');
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!absolute) parts.push('..');
    } else parts.push(part);
  }
  const joined = parts.join('/') + (p.endsWith('/') && parts.length > 0 ? '/' : '');
  return absolute ? `/${joined}` : joined === '' ? '.' : joined;
}

/** Joins segments with `/` and normalizes. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

/** An absolute path from the segments, rooted at `/`. */
export function resolve(...parts: string[]): string {
  let out = '';
  for (const p of parts) out = p.startsWith('/') ? p : `${out}/${p}`;
  return normalize(out.startsWith('/') ? out : `/${out}`);
}

/** Whether the path starts at the root. */
export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

/** The folder part. */
export function dirname(p: string): string {
  const clean = p.length > 1 ? p.replace(/\/+$/, '') : p;
  const i = clean.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : clean.slice(0, i);
}

/** The last part, without `ext` when it ends with it. */
export function basename(p: string, ext?: string): string {
  const base = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext !== undefined && base.endsWith(ext) && base !== ext ? base.slice(0, -ext.length) : base;
}

/** The extension of the last part, with its dot. */
export function extname(p: string): string {
  const base = basename(p);
  const i = base.lastIndexOf('.');
  return i <= 0 ? '' : base.slice(i);
}

/** The path from `from` to `to`. */
export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

/** This module, as `path.posix`. */
export const posix = { sep, delimiter, normalize, join, resolve, isAbsolute, dirname, basename, extname, relative };
