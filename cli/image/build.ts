/**
 * `buildImage`: the image's layers, config, manifest and SBOM, written into a work
 * folder and described as blobs ready for a push or an OCI image layout. Every
 * layer entry has the same fixed mtime, so a layer's digest depends on its content
 * alone and a new commit that leaves the runtime as it was re-pushes none of it; the
 * image's creation time (config, annotation, SBOM) is SOURCE_DATE_EPOCH, or else
 * the commit time of HEAD, so two builds of one commit give one digest.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ARCHIVE_MTIME } from '../../runtime/archive.ts';
import { APP_DIR, NONROOT_UID, planImageContents, type ImageContents } from './contents.ts';
import { writeLayer } from './layer.ts';
import {
  buildImageConfig, buildImageManifest, buildReferrerManifest, EMPTY_CONFIG, MEDIA_TYPES, sha256Digest, type OciDescriptor,
} from './oci-image.ts';
import { buildSpdxSbom } from './sbom.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../packages-cdk8s/trellis/node-options.ts';

const run = promisify(execFile);

/**
 * The mtime of every layer entry: 1980-01-01, as in Trellis's bundles. Not the commit
 * time: that would change every layer with every commit and re-push the runtime.
 */
export const LAYER_MTIME = ARCHIVE_MTIME.getTime() / 1000;

/** A blob of the built image: a file on disk (layers) or bytes (configs, manifests, the SBOM). */
export type ImageBlob = OciDescriptor & ({ readonly file: string } | { readonly bytes: Uint8Array });

/** One layer of the built image, with the numbers worth reporting. */
export interface BuiltLayer {
  readonly name: string;
  readonly blob: ImageBlob;
  /** sha256 of the uncompressed tar stream (the config's diff_id). */
  readonly diffId: string;
  readonly uncompressedSize: number;
  readonly entries: number;
}

/** The built image. */
export interface BuiltImage {
  readonly config: ImageBlob;
  readonly layers: readonly BuiltLayer[];
  /** The image manifest (its digest is the image digest). */
  readonly manifest: ImageBlob;
  /** The SBOM referrer: its manifest and its blobs (empty config, SPDX document). */
  readonly sbom: { readonly manifest: ImageBlob; readonly blobs: readonly ImageBlob[]; readonly document: Uint8Array };
  /** Config + layers: what a pull downloads. */
  readonly compressedSize: number;
  readonly created: string;
  readonly contents: ImageContents;
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  readonly root: string;
  readonly nodeBinary: string;
  readonly debCache: string;
  /** Layers are written here (it must exist and stay until they are pushed or copied). */
  readonly workDir: string;
  /** Seconds since the epoch for the image's creation time; default {@link sourceDateEpoch}. */
  readonly epoch?: number;
  readonly log?: (line: string) => void;
}

/** Raised for a SOURCE_DATE_EPOCH that is not a whole number of seconds. */
export class SourceDateEpochError extends Error {
  override readonly name = 'SourceDateEpochError';
}

/** SOURCE_DATE_EPOCH when set, else HEAD's commit time in `root`, else 0. */
export async function sourceDateEpoch(root: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv)) throw new SourceDateEpochError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${JSON.stringify(fromEnv)}`);
    return Number(fromEnv);
  }
  try {
    const { stdout } = await run('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: root });
    const seconds = Number(stdout.trim());
    return Number.isSafeInteger(seconds) ? seconds : 0;
  } catch {
    return 0;
  }
}

/** HEAD's commit in `root`, if it is a Git checkout. */
export async function headRevision(root: string): Promise<string | undefined> {
  try {
    return (await run('git', ['rev-parse', 'HEAD'], { cwd: root })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

const bytesBlob = (mediaType: string, bytes: Uint8Array, extra: Partial<OciDescriptor> = {}): ImageBlob => ({
  mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, bytes, ...extra,
});

/** Builds the image: layers into `workDir`, documents in memory. */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  const log = opts.log ?? (() => undefined);
  const epoch = opts.epoch ?? await sourceDateEpoch(opts.root);
  const created = new Date(epoch * 1000).toISOString();
  const contents = await planImageContents({ root: opts.root, nodeBinary: opts.nodeBinary, debCache: opts.debCache, workDir: opts.workDir, log });

  const layers: BuiltLayer[] = [];
  for (const [i, planned] of contents.layers.entries()) {
    log(`writing layer ${i + 1} (${planned.name}, ${planned.entries.length} entries)`);
    const written = await writeLayer(planned.entries, join(opts.workDir, `layer-${i + 1}-${planned.name}.tar.gz`), { mtime: LAYER_MTIME });
    layers.push({
      name: planned.name, diffId: written.diffId, uncompressedSize: written.uncompressedSize, entries: written.entries,
      blob: { mediaType: MEDIA_TYPES.layer, digest: written.digest, size: written.size, file: written.file },
    });
  }
  const architecture = GOARCH[process.arch] ?? process.arch;
  const configBytes = buildImageConfig({
    created, architecture,
    run: {
      user: `${NONROOT_UID}:${NONROOT_UID}`,
      env: ['PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt', 'NODE_ENV=production'],
      // `node <options> <controller>.mjs [flags]`, as the shipped Deployments' command says.
      entrypoint: ['node', ...CONTROLLER_NODE_OPTIONS],
      cmd: ['apply-controller.mjs'],
      workingDir: `/${APP_DIR}`,
    },
    layers: contents.layers.map((l, i) => ({ diffId: layers[i]!.diffId, createdBy: l.createdBy })),
  });
  const config = bytesBlob(MEDIA_TYPES.config, configBytes);
  const revision = await headRevision(opts.root);
  const annotations: Record<string, string> = {
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.title': contents.app.name,
    'org.opencontainers.image.version': contents.app.version,
    'org.opencontainers.image.licenses': contents.app.license,
    'org.opencontainers.image.base.name': 'debian:12 packages (dpkg -x), distroless-style',
    ...(revision !== undefined ? { 'org.opencontainers.image.revision': revision } : {}),
  };
  const manifest = bytesBlob(MEDIA_TYPES.manifest, buildImageManifest(config, layers.map((l) => l.blob), annotations));

  const document = buildSpdxSbom({
    imageDigest: manifest.digest, imageName: contents.app.name, imageVersion: contents.app.version, created, components: contents.components,
  });
  const sbomBlob = bytesBlob(MEDIA_TYPES.spdx, document, { annotations: { 'org.opencontainers.image.title': 'sbom.spdx.json' } });
  const emptyConfig = bytesBlob(MEDIA_TYPES.empty, EMPTY_CONFIG);
  const sbomManifest = bytesBlob(MEDIA_TYPES.manifest, buildReferrerManifest({
    artifactType: MEDIA_TYPES.spdx, layer: sbomBlob, subject: manifest,
    annotations: { 'org.opencontainers.image.created': created },
  }), { artifactType: MEDIA_TYPES.spdx, annotations: { 'org.opencontainers.image.created': created } });

  return {
    config, layers, manifest, created, contents,
    sbom: { manifest: sbomManifest, blobs: [emptyConfig, sbomBlob], document },
    compressedSize: config.size + layers.reduce((n, l) => n + l.blob.size, 0),
  };
}
