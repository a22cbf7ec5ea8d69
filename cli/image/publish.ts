/**
 * Where a built image goes: a registry, through Trellis's own OCI client (blobs the
 * registry has are not sent again, so an application change uploads one layer), or
 * an OCI image layout folder. The SBOM is attached as a referrer: its manifest
 * names the image as `subject`, and — for registries without the referrers API,
 * such as Distribution 2.8 — the OCI distribution spec's fallback index under the
 * tag `sha256-<image digest hex>` lists it too.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, type OciClient, type OciReference, type PushBlobOptions } from '../../source-controller/index.ts';
import type { BuiltImage, ImageBlob } from './build.ts';
import { mergeReferrersIndex, MEDIA_TYPES, referrersTag } from './oci-image.ts';

/** One blob of a push: sent, or already in the registry. */
export interface PushedImageBlob {
  readonly digest: string;
  readonly size: number;
  readonly uploaded: boolean;
}

/** The outcome of {@link pushImage}. */
export interface PushedImage {
  readonly digest: string;
  readonly reference: OciReference;
  readonly blobs: readonly PushedImageBlob[];
  readonly sbomDigest: string;
  /** The referrers fallback tag the SBOM is listed under. */
  readonly referrersTag: string;
}

async function pushImageBlob(client: OciClient, repo: OciReference, blob: ImageBlob, opts: PushBlobOptions = {}): Promise<PushedImageBlob> {
  const source = 'file' in blob ? { file: blob.file } : { bytes: blob.bytes };
  const pushed = await client.pushBlob(repo, source, { ...opts, digest: blob.digest, size: blob.size });
  return { digest: pushed.digest, size: pushed.size, uploaded: pushed.uploaded };
}

function bytesOf(blob: ImageBlob): Uint8Array {
  if (!('bytes' in blob)) throw new Error(`${blob.digest} is not held in memory`);
  return blob.bytes;
}

/** Pushes the image under `reference`'s tag, then its SBOM as a referrer. */
export async function pushImage(client: OciClient, reference: OciReference, image: BuiltImage,
  onBlob: (blob: PushedImageBlob, what: string) => void = () => undefined): Promise<PushedImage> {
  const tag = reference.tag;
  if (tag === undefined) throw new Error('the image reference needs a tag: oci://HOST/REPO:TAG');
  const repo: OciReference = { host: reference.host, repository: reference.repository };
  const blobs: PushedImageBlob[] = [];
  const send = async (blob: ImageBlob, what: string): Promise<void> => {
    const pushed = await pushImageBlob(client, repo, blob);
    blobs.push(pushed);
    onBlob(pushed, what);
  };
  for (const layer of image.layers) await send(layer.blob, `layer ${layer.name}`);
  await send(image.config, 'config');
  const { digest } = await client.pushManifest(repo, tag, bytesOf(image.manifest), MEDIA_TYPES.manifest);
  if (digest !== image.manifest.digest) throw new Error(`the registry stored the manifest as ${digest}, not ${image.manifest.digest}`);

  for (const blob of image.sbom.blobs) await send(blob, 'sbom');
  const sbom = image.sbom.manifest;
  await client.pushManifest(repo, sbom.digest, bytesOf(sbom), MEDIA_TYPES.manifest);
  const fallbackTag = referrersTag(digest);
  let existing: Uint8Array | undefined;
  try {
    existing = (await client.fetchManifestBytes(repo, fallbackTag)).bytes;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const index = mergeReferrersIndex(existing, { mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size,
    artifactType: MEDIA_TYPES.spdx, ...(sbom.annotations !== undefined ? { annotations: sbom.annotations } : {}) });
  await client.pushManifest(repo, fallbackTag, index, MEDIA_TYPES.index);
  return { digest, reference: { ...repo, tag, digest }, blobs, sbomDigest: sbom.digest, referrersTag: fallbackTag };
}

/**
 * Writes the image as an OCI image layout in `dir`: `oci-layout`, every blob under
 * `blobs/sha256/`, and `index.json` naming the image (with `tag` as its ref.name)
 * and its SBOM manifest.
 */
export async function writeImageLayout(dir: string, image: BuiltImage, tag: string): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const all: ImageBlob[] = [...image.layers.map((l) => l.blob), image.config, image.manifest, ...image.sbom.blobs, image.sbom.manifest];
  for (const blob of all) {
    const target = join(blobDir, blob.digest.slice('sha256:'.length));
    if ('file' in blob) await copyFile(blob.file, target);
    else await writeFile(target, blob.bytes);
  }
  await writeFile(join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      { mediaType: MEDIA_TYPES.manifest, digest: image.manifest.digest, size: image.manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': tag } },
      { mediaType: MEDIA_TYPES.manifest, digest: image.sbom.manifest.digest, size: image.sbom.manifest.size, artifactType: MEDIA_TYPES.spdx },
    ],
  };
  await writeFile(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
}
