/**
 * `trellis image build [--push oci://HOST/REPO:TAG] [--insecure] [-o DIR]`: builds
 * the controllers' image without a container engine (see build.ts and
 * contents.ts), prints each layer's size and the total compressed size on stderr
 * and the image digest on stdout, and pushes it (with its SBOM as a referrer)
 * and/or writes it as an OCI image layout.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadCredentials } from '../../packages-cdk8s/build/credentials.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../packages-cdk8s/trellis/node-options.ts';
import { formatReference, OciClient, parseReference } from '../../source-controller/index.ts';
import { failCommand } from '../build.ts';
import { buildImage, type BuiltImage } from './build.ts';
import { defaultDebCache } from './debian.ts';
import { pushImage, writeImageLayout, type PushedImage } from './publish.ts';

/** Options of `trellis image build`. */
export interface ImageBuildOptions {
  readonly push?: string;
  readonly output?: string;
  readonly insecure?: boolean;
  readonly creds?: string;
  readonly caFile?: string;
  /** The Node binary to ship (default: the one running this command). */
  readonly node?: string;
  readonly debCache?: string;
  /** The Trellis checkout to take the application from (default: the one this command belongs to). */
  readonly root?: string;
}

/** What `trellis image build` did. */
export interface ImageBuildResult {
  readonly image: BuiltImage;
  readonly pushed?: PushedImage;
}

/**
 * The checkout this module belongs to; the working directory in a bundled CLI
 * (which has no `import.meta.url`, and no sources to put in an image either).
 */
export function projectRoot(): string {
  const url = (import.meta as { url?: string }).url;
  return url ? resolve(dirname(fileURLToPath(url)), '..', '..') : process.cwd();
}

const MB = 1024 * 1024;
/** Sizes in MB with one decimal, as the docs report them. */
export const megabytes = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** One line per layer and the total: what the build reports. */
export function describeImage(image: BuiltImage): string[] {
  return [
    ...image.layers.map((l, i) => `layer ${i + 1} ${l.name.padEnd(12)} ${megabytes(l.blob.size).padStart(9)} compressed, `
      + `${megabytes(l.uncompressedSize).padStart(9)} unpacked, ${l.entries} entries  ${l.blob.digest}`),
    `image ${image.manifest.digest}: ${megabytes(image.compressedSize)} compressed (config and ${image.layers.length} layers); `
      + `${image.contents.debianPackages.length} Debian packages, Node ${image.contents.nodeVersion}, `
      + `${image.contents.npmPackages.length} npm packages, ${image.contents.appFiles.length} modules`,
  ];
}

/** Raised when the command runs where it cannot build: outside a checkout, or as a single executable without `--node`. */
export class ImageBuildSetupError extends Error {
  override readonly name = 'ImageBuildSetupError';
}

/** The checkout and the Node binary to build from, checked. */
function buildInputs(opts: ImageBuildOptions): { root: string; nodeBinary: string } {
  const root = resolve(opts.root ?? projectRoot());
  for (const needed of ['package.json', 'package-lock.json', 'apply-controller/main.ts', 'source-controller/main.ts', 'hack/build-controllers.ts']) {
    if (!existsSync(resolve(root, needed))) {
      throw new ImageBuildSetupError(`${root} is not a Trellis checkout (no ${needed}): the image is built from the sources; pass --root`);
    }
  }
  // A single-file trellis is a Node binary with the CLI injected: as the image's `node` it would run the CLI.
  if (opts.node === undefined && isSea()) {
    throw new ImageBuildSetupError('this trellis is a single executable, not a plain Node binary: pass --node /path/to/node (Node 24)');
  }
  return { root, nodeBinary: opts.node ?? process.execPath };
}

/** Runs `trellis image build`. */
export async function runImageBuild(opts: ImageBuildOptions, stdout: { write(text: string): unknown } = process.stdout,
  stderr: { write(text: string): unknown } = process.stderr): Promise<ImageBuildResult> {
  const say = (line: string): void => { stderr.write(`${line}\n`); };
  const reference = opts.push !== undefined ? parseReference(opts.push) : undefined;
  if (reference !== undefined && reference.tag === undefined) throw new Error(`--push ${opts.push}: give a tag (oci://HOST/REPO:TAG)`);
  const inputs = buildInputs(opts);
  const work = await mkdtemp(resolve(tmpdir(), 'trellis-image-'));
  try {
    const image = await buildImage({ ...inputs, debCache: opts.debCache ?? defaultDebCache(), workDir: work, log: say });
    for (const line of describeImage(image)) say(line);
    if (opts.output !== undefined) {
      await writeImageLayout(resolve(opts.output), image, reference?.tag ?? image.contents.app.version);
      say(`wrote an OCI image layout to ${opts.output}`);
    }
    let pushed: PushedImage | undefined;
    if (reference !== undefined) {
      const credentials = await loadCredentials(opts.creds !== undefined ? { creds: opts.creds } : {});
      const client = new OciClient({ insecure: opts.insecure ?? false, caFile: opts.caFile, credentials });
      try {
        pushed = await pushImage(client, reference, image, (blob, what) => {
          say(`${blob.uploaded ? 'pushed' : 'exists'} ${what} ${blob.digest} (${megabytes(blob.size)})`);
        });
      } finally {
        client.close();
      }
      say(`pushed oci://${formatReference(pushed.reference)}; SBOM ${pushed.sbomDigest} (referrers tag ${pushed.referrersTag})`);
    }
    stdout.write(`${image.manifest.digest}\n`);
    return { image, ...(pushed !== undefined ? { pushed } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The `image` command with its `build` subcommand. */
export function imageCommand(): Command {
  const build = new Command('build')
    .description('build the controllers\' OCI image from Debian packages, Node and the application, without a container engine')
    .option('--push <reference>', 'push the image (and its SBOM as a referrer) to oci://HOST/REPO:TAG')
    .option('-o, --output <dir>', 'write the image as an OCI image layout into this folder')
    .option('--insecure', 'plain HTTP instead of HTTPS for the registry')
    .option('--creds <user:password>', 'registry credentials (default: the docker config.json entry of the host)')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the registry')
    .option('--node <binary>', 'the Node binary to put in the image (default: the one running trellis)')
    .option('--root <dir>', 'the Trellis checkout to build from (default: the one this trellis runs from)')
    .option('--deb-cache <dir>', 'where downloaded .deb files are kept (default: ~/.cache/trellis/debs)')
    .addHelpText('after', '\nThe image runs `node <controller>.mjs [flags]` in /app as user 65532, each controller one bundle\n'
      + '(npm run build:controllers; the checkout needs its dependencies installed):\n'
      + `  entrypoint ${JSON.stringify(['node', ...CONTROLLER_NODE_OPTIONS])}, cmd ["apply-controller.mjs"]; give source-controller.mjs to run the other.\n`
      + 'Timestamps come from SOURCE_DATE_EPOCH or the commit time of HEAD: one commit gives one digest.\n\n'
      + 'Example:\n  trellis image build --push oci://$TRELLIS_REGISTRY/trellis:0.1.0 --insecure')
    .action(async (o: ImageBuildOptions) => { await runImageBuild(o).catch(failCommand); });
  return new Command('image').description('build the Trellis controllers\' container image').addCommand(build);
}
