/**
 * A Package whose source's artifact is a program bundle, for the tests of the
 * shipped CLI: the web example built by the checkout's `trellis build` (the
 * compiled program, its values schema and its output for the defaults), served by
 * the source-controller's real artifact server, and an OCIRepository whose status
 * publishes it as the source-controller would (suspended, so no controller touches
 * it). Nothing renders it until a command asks: `kubectl package diff` must run the
 * program itself.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { ArtifactPublisher, createSource } from '../../integration/apply-controller/support.ts';
import { scratchDir } from '../../support/cluster.ts';

/** The Package {@link publishProgramPackage} creates. */
export const PROGRAM_PACKAGE = 'web';

/**
 * Builds the web example as a program bundle, publishes it, and creates the
 * OCIRepository and Package `web` in `ns`. Returns the artifact's revision.
 */
export async function publishProgramPackage(t: ExecutionContext, client: KubeClient, ns: string): Promise<string> {
  const built = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'web'), { out: join(scratchDir('program-bundle'), 'web.tgz') });
  const publisher = await ArtifactPublisher.start();
  t.teardown(() => publisher.stop());
  const artifact = await publisher.publishBytes(ns, PROGRAM_PACKAGE, await readFile(built.file), '1.0.0');
  await createSource(client, ns, PROGRAM_PACKAGE, artifact);
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name: PROGRAM_PACKAGE, namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: PROGRAM_PACKAGE }, prune: true },
  });
  return artifact.revision;
}

/** How a command ended, and what it printed. */
export interface CommandRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command without blocking this process: the artifact server the command
 * downloads from runs here (spawnSync would leave it unable to answer).
 */
export function runCommand(file: string, args: readonly string[], opts: { readonly env: NodeJS.ProcessEnv; readonly cwd?: string }): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
