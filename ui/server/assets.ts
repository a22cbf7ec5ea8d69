/**
 * The dashboard's browser files (ui/web/): plain JavaScript modules, a style
 * sheet and the page, served as they are — no CDN, no build step. In a checkout
 * they are read from disk; the shipped CLI (hack/build-cli.ts) replaces this
 * module's body with the same files embedded, so both behave alike.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENT_TYPES } from './content-types.ts';

/** The browser files by name (`app.js`), with their text. */
export async function readWebAssets(): Promise<ReadonlyMap<string, string>> {
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'web');
  const names = (await readdir(dir)).filter((n) => CONTENT_TYPES[extname(n)] !== undefined).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), 'utf8')] as const)));
}
