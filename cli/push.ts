/**
 * `trellis push <dir|bundle.tgz|-> oci://host/repo[:tag]`: builds the package when
 * given a package folder (a tarball is validated as is; rendered manifests, from
 * a folder, a kustomization or standard input, are bundled by
 * packages-cdk8s/build/rendered.ts), pushes it as a Trellis OCI
 * artifact and prints its digest on stdout. Progress goes to stderr: bars on a
 * terminal, plain lines otherwise.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { PackageManifest } from '../apply-controller/index.ts';
import { buildBundle, inspectBundleFile } from '../packages-cdk8s/build/bundle.ts';
import { loadCredentials } from '../packages-cdk8s/build/credentials.ts';
import { pushBundle, reproducibleCreated } from '../packages-cdk8s/build/push.ts';
import { bundleRendered, type RenderedBundle } from '../packages-cdk8s/build/rendered.ts';
import { formatReference, OciClient, parseReference, type PushedArtifact } from '../source-controller/index.ts';
import { describeBuilt, failCommand } from './build.ts';
import { createPushProgress, type ProgressStream } from './progress.ts';

/** Options of `trellis push`. */
export interface PushCommandOptions {
  readonly source?: string;
  readonly revision?: string;
  readonly annotation?: readonly string[];
  readonly reproducible?: boolean;
  readonly creds?: string;
  readonly insecure?: boolean;
  readonly caFile?: string;
  readonly entry?: string;
  /** Package name for rendered manifests (default: the Helm chart's). */
  readonly name?: string;
  /** Package version for rendered manifests (default: the Helm chart's). */
  readonly packageVersion?: string;
}

/** `k=v` pairs to a map; throws on an entry without `=`. */
export function parseAnnotations(pairs: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--annotation "${pair}" must be key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Where `trellis push` writes: the digest to `stdout`, progress and messages to `stderr`. */
export interface CommandOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
}

/** Runs `trellis push`; returns the pushed artifact. */
export async function runPush(input: string, target: string, opts: PushCommandOptions,
  io: CommandOutput = { stdout: process.stdout, stderr: process.stderr }, stdin: AsyncIterable<Buffer | string> = process.stdin): Promise<PushedArtifact> {
  const progressStream = io.stderr;
  const say = (line: string): void => { progressStream.write(`${line}\n`); };
  const reference = parseReference(target);
  const credentials = await loadCredentials(opts.creds !== undefined ? { creds: opts.creds } : {});
  const annotations = parseAnnotations(opts.annotation);
  const work = await mkdtemp(join(tmpdir(), 'trellis-push-'));
  const client = new OciClient({ insecure: opts.insecure ?? false, caFile: opts.caFile, credentials });
  try {
    let file: string;
    let manifest: PackageManifest;
    const rendered = await pushedRendered(input, opts, work, stdin);
    if (rendered !== undefined) {
      say(`bundled ${rendered.objects} rendered object${rendered.objects === 1 ? '' : 's'} as ${rendered.manifest.name} ${rendered.manifest.version}`
        + (rendered.chart ? ` (Helm chart ${rendered.chart.name} ${rendered.chart.version})` : ''));
      file = rendered.file;
      manifest = rendered.manifest;
      Object.assign(annotations, { ...rendered.annotations, ...annotations });
    } else if ((await stat(input)).isDirectory()) {
      const built = await buildBundle(input, {
        out: join(work, 'bundle.tgz'), workDir: work, onOutput: (line) => say(`[package] ${line}`),
        ...(opts.entry !== undefined ? { entry: opts.entry } : {}),
      });
      say(describeBuilt(built, { file: false }));
      file = built.file;
      manifest = built.manifest;
    } else {
      file = input;
      manifest = (await inspectBundleFile(input, work)).manifest;
    }
    const progress = createPushProgress(progressStream);
    let pushed: PushedArtifact;
    try {
      pushed = await pushBundle({
        client, reference, file, manifest, annotations, onProgress: progress.onProgress,
        ...(opts.source !== undefined ? { source: opts.source } : {}),
        ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
        ...(opts.reproducible ? { created: reproducibleCreated() } : {}),
      });
      progress.finish(pushed.blobs);
    } catch (err) {
      progress.finish();
      throw err;
    }
    say(`pushed oci://${formatReference(pushed.reference)}`);
    io.stdout.write(`${pushed.digest}\n`);
    return pushed;
  } finally {
    client.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Most a rendered stream on standard input may hold. */
const MAX_STDIN_BYTES = 64 * 1024 * 1024;

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_STDIN_BYTES) throw new Error(`standard input holds more than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `-` (rendered YAML on standard input) or a folder without the package program
 * (plain manifests, or a kustomization rendered by kustomize) as a bundle;
 * undefined for a package folder or a bundle tarball.
 */
async function pushedRendered(input: string, opts: PushCommandOptions, work: string, stdin: AsyncIterable<Buffer | string>): Promise<RenderedBundle | undefined> {
  const common = { out: join(work, 'rendered.tgz'), workDir: work, name: opts.name, version: opts.packageVersion };
  if (input === '-') return bundleRendered({ yaml: await readAll(stdin) }, common);
  if (!(await stat(input)).isDirectory() || existsSync(join(input, opts.entry ?? 'package.ts'))) return undefined;
  return bundleRendered({ dir: input }, common);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The `push` subcommand. */
export function pushCommand(): Command {
  return new Command('push')
    .description('build (if needed) and push a package bundle to an OCI registry')
    .argument('<package>', 'a package folder (with package.ts), a bundle tarball from trellis build, a folder of rendered manifests or a kustomization, or - for rendered YAML on standard input (helm template … | trellis push - …)')
    .argument('<reference>', 'oci://host/repo[:tag] (default tag: the package version)')
    .option('--source <url>', 'org.opencontainers.image.source annotation (e.g. the Git URL)')
    .option('--revision <rev>', 'org.opencontainers.image.revision annotation (e.g. the commit)')
    .option('--annotation <key=value>', 'another manifest annotation (repeatable)', collect)
    .option('--reproducible', 'set org.opencontainers.image.created to SOURCE_DATE_EPOCH or 1970-01-01, for identical digests')
    .option('--creds <user:password>', 'registry credentials (default: the docker config.json entry of the host)')
    .option('--insecure', 'plain HTTP instead of HTTPS')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the registry')
    .option('--entry <file>', 'the package program, relative to the folder', 'package.ts')
    .option('--name <name>', 'package name of rendered manifests (default: the Helm chart name from the input)')
    .option('--package-version <semver>', 'package version of rendered manifests (default: the Helm chart version from the input)')
    .addHelpText('after', '\nExample:\n  trellis push packages-cdk8s/examples/web oci://$TRELLIS_REGISTRY/examples/web:1.0.0 --insecure '
      + '--source https://github.com/org/repo --revision "$(git rev-parse HEAD)"\n'
      + '  helm template web ./chart -f values.yaml --skip-tests | trellis push - oci://registry.example/team/web:1.2.3\n'
      + '  trellis push overlays/prod oci://registry.example/team/web:1.2.3 --name web --package-version 1.2.3')
    .action(async (input: string, target: string, o: PushCommandOptions) => { await runPush(input, target, o).catch(failCommand); });
}
