/**
 * Hand-made tarballs for the archive tests: headers are written with tar's Header
 * class so a test can produce exactly the hostile entries a real attacker would
 * (`..`, absolute paths, links, devices, lying sizes) that no well-behaved packer emits.
 */
import { gzipSync } from 'node:zlib';
import { Header, Pax, type HeaderData } from 'tar';

/** One entry of a crafted tarball; `body` defaults to empty. */
export interface CraftedEntry extends HeaderData {
  readonly path: string;
  readonly body?: string | Buffer;
  /** Emit a PAX header with these fields before the entry. */
  readonly pax?: HeaderData;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** The raw (uncompressed) tar bytes for `entries`, ending with the end-of-archive marker unless `end` is false. */
export function craftTar(entries: readonly CraftedEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const { body, pax, ...data } = entry;
    const content = typeof body === 'string' ? Buffer.from(body) : body ?? Buffer.alloc(0);
    if (pax) parts.push(new Pax({ ...pax }).encode());
    const block = Buffer.alloc(512);
    new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'File', size: content.length, ...data }).encode(block);
    parts.push(block, content, pad(content.length));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** {@link craftTar}, gzipped. */
export function craftTarGz(entries: readonly CraftedEntry[], end = true): Buffer {
  return gzipSync(craftTar(entries, end));
}
