/**
 * The files a program can read inside the sandbox: the ones its package declared
 * (`definePackage({ files })`), embedded by `trellis build` in the program
 * itself, read-only. The package folder is the sandbox's `/`, so `nginx.conf`,
 * `./nginx.conf` and `/nginx.conf` name the same file, and nothing climbs above
 * it. `readFileSync`, `existsSync`, `statSync`, `lstatSync`, `readdirSync` and
 * `realpathSync` answer from the embedded table — what cdk8s-plus'
 * `ConfigMap.addFile`/`addDirectory` call — and `child_process.execFileSync`
 * answers the one call cdk8s' `Include` (`Yaml.load`) makes to read a file.
 * A path that was not embedded is an error, never "missing": a forgotten
 * declaration must not render as an absent file.
 */
import { utf8 } from './crypto.ts';

/** One embedded file: its text when it is UTF-8, its bytes in base64 otherwise. */
export type EmbeddedFile = { readonly text: string } | { readonly base64: string };

/** The embedded files by path relative to the package folder (`crds/a.yaml`). */
export type EmbeddedFiles = Readonly<Record<string, EmbeddedFile>>;

/** Why there are no other files (the end of every refusal). */
export const NO_FILES_WHY = 'a package renders in a sandbox without files, network, processes or clock; '
  + 'only the files declared in definePackage({ files: [...] }) are there, embedded by trellis build';

/** What the cdk8s `Include` (`Yaml.load`) asks `execFileSync` to run: a script that prints a file or URL. */
const LOAD_URL_SCRIPT = '_loadurl.mjs';

/** A URL: `Include` would fetch it. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 of `bytes`, with padding. */
export function base64Encode(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!
      + (b === undefined ? '=' : BASE64[(n >> 6) & 63]!) + (c === undefined ? '=' : BASE64[n & 63]!);
  }
  return out;
}

/** The byte length of base64 text with padding. */
function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/**
 * The path relative to the package folder that a program's path names (`''` for
 * the folder itself), or `undefined` when it climbs above the folder or is not a
 * string. Absolute paths are taken from the sandbox's root, the package folder.
 */
export function sandboxPath(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

/** An error like Node's file errors: a `code` programs may test, and a message that says why. */
function fileError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** What `statSync` returns for an embedded path: no times (there is no clock) and read-only modes. */
export interface EmbeddedStats {
  readonly size: number;
  readonly mode: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** A `readdirSync(..., { withFileTypes: true })` entry. */
export interface EmbeddedDirent {
  readonly name: string;
  readonly parentPath: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The functions of `fs` and `child_process` that read embedded files. */
export interface FileView {
  readonly fs: {
    readFileSync(path: unknown, options?: unknown): string;
    existsSync(path: unknown): boolean;
    statSync(path: unknown): EmbeddedStats;
    lstatSync(path: unknown): EmbeddedStats;
    readdirSync(path: unknown, options?: unknown): string[] | EmbeddedDirent[];
    realpathSync(path: unknown): string;
  };
  readonly childProcess: {
    execFileSync(file: unknown, args?: unknown, options?: unknown): string;
  };
}

const encodingOf = (options: unknown): unknown => (typeof options === 'object' && options !== null
  ? (options as { encoding?: unknown }).encoding : options);

/** The read-only view of `files` that the sandbox's `fs` stand-in gives a program. */
export function embeddedFileView(files: EmbeddedFiles): FileView {
  const folders = new Set<string>(['']);
  for (const key of Object.keys(files)) {
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  const show = (path: unknown): string => JSON.stringify(typeof path === 'string' ? path : String(path));
  const locate = (call: string, path: unknown): { key: string; file?: EmbeddedFile; folder: boolean } => {
    const key = sandboxPath(path);
    if (key === undefined) {
      throw fileError('EACCES', `${call}(${show(path)}): the path leaves the package folder, and fs is not available in a Trellis program: ${NO_FILES_WHY}`);
    }
    const file = Object.hasOwn(files, key) ? files[key] : undefined;
    if (!file && !folders.has(key)) {
      throw fileError('ENOENT', `${call}(${show(path)}): not one of the files embedded in this program, and fs is not available in a Trellis program otherwise: ${NO_FILES_WHY}`);
    }
    return { key, folder: !file, ...(file ? { file } : {}) };
  };
  const stats = (call: string, path: unknown): EmbeddedStats => {
    const { file } = locate(call, path);
    const size = !file ? 0 : 'text' in file ? utf8(file.text).length : base64Length(file.base64);
    return {
      size, mode: file ? 0o100444 : 0o40555,
      isFile: () => file !== undefined, isDirectory: () => file === undefined, isSymbolicLink: () => false,
    };
  };
  const readFileSync = (path: unknown, options?: unknown): string => {
    const { key, file } = locate('fs.readFileSync', path);
    if (!file) throw fileError('EISDIR', `fs.readFileSync(${show(path)}): ${key || '.'} is a folder`);
    const encoding = encodingOf(options);
    const name = typeof encoding === 'string' ? encoding.toLowerCase() : undefined;
    if (name === 'utf8' || name === 'utf-8') {
      if ('text' in file) return file.text;
      throw fileError('EINVAL', `fs.readFileSync(${show(path)}, '${String(encoding)}'): ${key} is not UTF-8 text; read it with 'base64'`);
    }
    if (name === 'base64') return 'text' in file ? base64Encode(utf8(file.text)) : file.base64;
    throw fileError('EINVAL', `fs.readFileSync(${show(path)}): a Trellis program reads files as text: pass 'utf8' or 'base64' (there is no Buffer in the sandbox)`);
  };
  const readdirSync = (path: unknown, options?: unknown): string[] | EmbeddedDirent[] => {
    const { key, folder } = locate('fs.readdirSync', path);
    if (!folder) throw fileError('ENOTDIR', `fs.readdirSync(${show(path)}): ${key} is a file`);
    const prefix = key === '' ? '' : `${key}/`;
    const names = new Set<string>();
    for (const entry of [...Object.keys(files), ...folders]) {
      if (entry.startsWith(prefix) && entry !== key) names.add(entry.slice(prefix.length).split('/')[0]!);
    }
    // Code-unit order: the same everywhere, unlike a disk's or a locale's.
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (typeof options !== 'object' || options === null || (options as { withFileTypes?: unknown }).withFileTypes !== true) return sorted;
    return sorted.map((name) => {
      const isFolder = folders.has(`${prefix}${name}`);
      return { name, parentPath: `/${key}`, isFile: () => !isFolder, isDirectory: () => isFolder, isSymbolicLink: () => false };
    });
  };
  return {
    fs: {
      readFileSync,
      existsSync: (path) => locate('fs.existsSync', path) !== undefined,
      statSync: (path) => stats('fs.statSync', path),
      lstatSync: (path) => stats('fs.lstatSync', path),
      readdirSync,
      realpathSync: (path) => `/${locate('fs.realpathSync', path).key}`,
    },
    childProcess: {
      execFileSync(file, args) {
        const list = Array.isArray(args) ? args as unknown[] : [];
        const script = list[0];
        if (typeof script !== 'string' || !script.endsWith(`/${LOAD_URL_SCRIPT}`)) {
          throw new Error(`child_process.execFileSync(${show(file)}): child_process is not available in a Trellis program: ${NO_FILES_WHY}`);
        }
        const url = list[1];
        if (typeof url === 'string' && URL_SCHEME.test(url)) {
          throw new Error(`Include of ${url}: a Trellis program has no network; download the file into the package folder, `
            + 'declare it in definePackage({ files: [...] }) and include it by its path');
        }
        return readFileSync(url, 'utf8');
      },
    },
  };
}
