/**
 * `trellis push <dir|bundle.tgz> oci://host/repo[:tag]`: builds the package when
 * given a folder (a tarball is validated as is), pushes it as a Trellis OCI
 * artifact and prints its digest on stdout. Progress goes to stderr: bars on a
 * terminal, plain lines otherwise.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { PackageManifest } from '../apply-controller/index.ts';
import { buildBundle, inspectBundleFile } from '../packages-cdk8s/build/bundle.ts';
import { loadCredentials } from '../packages-cdk8s/build/credentials.ts';
import { pushBundle, reproducibleCreated } from '../packages-cdk8s/build/push.ts';
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
  io: CommandOutput = { stdout: process.stdout, stderr: process.stderr }): Promise<PushedArtifact> {
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
    if ((await stat(input)).isDirectory()) {
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

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The `push` subcommand. */
export function pushCommand(): Command {
  return new Command('push')
    .description('build (if needed) and push a package bundle to an OCI registry')
    .argument('<package>', 'a package folder (with package.ts) or a bundle tarball from trellis build')
    .argument('<reference>', 'oci://host/repo[:tag] (default tag: the package version)')
    .option('--source <url>', 'org.opencontainers.image.source annotation (e.g. the Git URL)')
    .option('--revision <rev>', 'org.opencontainers.image.revision annotation (e.g. the commit)')
    .option('--annotation <key=value>', 'another manifest annotation (repeatable)', collect)
    .option('--reproducible', 'set org.opencontainers.image.created to SOURCE_DATE_EPOCH or 1970-01-01, for identical digests')
    .option('--creds <user:password>', 'registry credentials (default: the docker config.json entry of the host)')
    .option('--insecure', 'plain HTTP instead of HTTPS')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the registry')
    .option('--entry <file>', 'the package program, relative to the folder', 'package.ts')
    .addHelpText('after', '\nExample:\n  trellis push packages-cdk8s/examples/web oci://$TRELLIS_REGISTRY/examples/web:1.0.0 --insecure '
      + '--source https://github.com/org/repo --revision "$(git rev-parse HEAD)"')
    .action(async (input: string, target: string, o: PushCommandOptions) => { await runPush(input, target, o).catch(failCommand); });
}
