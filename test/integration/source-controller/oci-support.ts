/**
 * OCI helpers for the source-controller tests: pushing artifacts with the
 * project's OCI client, a registry whose storage folder the test can reach (to
 * tamper with blobs and plant manifests the way a less strict registry would
 * serve them), and tarball layers built from plain entries.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { startRegistry, type Registry } from '../../../hack/registry.ts';
import {
  OCI_MANIFEST_MEDIA_TYPE, OciClient, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONTENT_MEDIA_TYPE, parseReference,
} from '../../../source-controller/oci/index.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { OCI_STORAGE_KIND } from '../../../source-controller/ocirepository.ts';
import { scratchDir } from '../../support/cluster.ts';
import { download, sha256, type SourceHarness } from './support.ts';
import { craftTarGz, type CraftedEntry } from '../../unit/archive/craft.ts';

/** A tar.gz layer holding `files` (path -> content). */
export function layerOf(files: Readonly<Record<string, string>>): Buffer {
  return craftTarGz(Object.entries(files).map(([path, body]): CraftedEntry => ({ path, body })));
}

/** Options of {@link pushLayer}. */
export interface PushLayerOptions {
  readonly mediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Pushes one layer as an artifact under `tag` of `oci://<host>/<repository>`; returns the manifest digest. */
export async function pushLayer(host: string, repository: string, tag: string, layer: Uint8Array,
  opts: PushLayerOptions & { client?: OciClient } = {}): Promise<{ digest: string; layerDigest: string }> {
  const client = opts.client ?? new OciClient({ insecure: true });
  try {
    const pushed = await client.pushArtifact(parseReference(`oci://${host}/${repository}`), {
      artifactType: TRELLIS_ARTIFACT_TYPE,
      layers: [{ mediaType: opts.mediaType ?? TRELLIS_CONTENT_MEDIA_TYPE, bytes: layer, title: 'content.tgz' }],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      tag,
    });
    return { digest: pushed.digest, layerDigest: pushed.blobs[pushed.blobs.length - 1]!.digest };
  } finally {
    if (!opts.client) client.close();
  }
}

/** A registry of its own, with its storage folder (`docker/registry/v2`). Stopped when the test ends. */
export async function registryWithStorage(t: ExecutionContext): Promise<{ registry: Registry; storage: string }> {
  const dir = scratchDir('oci-registry');
  const registry = await startRegistry({ dir, log: () => undefined });
  t.teardown(() => registry.stop());
  return { registry, storage: join(dir, 'storage', 'docker', 'registry', 'v2') };
}

const hexOf = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The data file of a blob in the registry's storage. */
export function blobPath(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(storage, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/**
 * Stores `bytes` as the manifest `tag` points at, directly in the registry's
 * storage (no validation, as a PUT would do). Returns its digest.
 */
export function plantManifest(storage: string, repository: string, tag: string, bytes: Uint8Array): string {
  const hex = hexOf(bytes);
  const digest = `sha256:${hex}`;
  mkdirSync(join(storage, 'blobs', 'sha256', hex.slice(0, 2), hex), { recursive: true });
  writeFileSync(blobPath(storage, digest), bytes);
  const manifests = join(storage, 'repositories', repository, '_manifests');
  for (const link of [join(manifests, 'revisions', 'sha256', hex), join(manifests, 'tags', tag, 'current'), join(manifests, 'tags', tag, 'index', 'sha256', hex)]) {
    mkdirSync(link, { recursive: true });
    writeFileSync(join(link, 'link'), digest);
  }
  return digest;
}

/** A forwarding proxy that can serve chosen bytes as a manifest, like a registry that does not validate. */
export interface ManifestRewriter {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** From now on `tag` (and the digest of `bytes`) of `repository` answer with `bytes`. */
  serve(repository: string, tag: string, bytes: Uint8Array): void;
  stop(): Promise<void>;
}

/**
 * Starts a plain-HTTP proxy in front of `upstream` (a real registry): every
 * request is forwarded as is, except manifests chosen with `serve`, which are
 * answered with the given bytes and their true digest — what a registry that
 * stores manifests without parsing them would do.
 */
export async function startManifestRewriter(upstream: Registry): Promise<ManifestRewriter> {
  const served = new Map<string, Buffer>();
  const target = new URL(upstream.url);
  const server = createServer((req, res) => {
    const bytes = served.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (bytes) {
      req.resume();
      res.writeHead(200, {
        'content-type': OCI_MANIFEST_MEDIA_TYPE, 'content-length': String(bytes.length),
        'docker-content-digest': `sha256:${hexOf(bytes)}`,
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return;
    }
    const forward = httpRequest({
      host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host },
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => { res.destroy(); });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    serve(repository, tag, bytes) {
      const buffer = Buffer.from(bytes);
      served.set(`/v2/${repository}/manifests/${tag}`, buffer);
      served.set(`/v2/${repository}/manifests/sha256:${hexOf(buffer)}`, buffer);
    },
    stop: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/** Asserts the source still publishes `good`, which is still served, and nothing else is stored. */
export async function keepsArtifact(t: ExecutionContext, h: SourceHarness, name: string, good: NonNullable<NonNullable<OCIRepository['status']>['artifact']>): Promise<void> {
  const obj = await h.get<OCIRepository>('OCIRepository', name);
  t.deepEqual(obj?.status?.artifact, good, 'status.artifact is the last good one');
  t.is(sha256(await download(good.url)), good.digest, 'and it is still served');
  t.deepEqual(await readdir(h.storage.dirFor(OCI_STORAGE_KIND, h.namespace, name)), [`${good.digest.slice(7)}.tar.gz`], 'nothing else was stored');
}
