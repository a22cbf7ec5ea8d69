/**
 * `trellis bootstrap oci://HOST/REPO[:TAG]`: makes Trellis manage itself.
 *
 * 1. builds the installation package in memory (the image is the default of
 *    its `image` value, so a later bundle brings its own image) and pushes it
 *    as a Trellis bundle with `trellis push`'s code;
 * 2. installs it like `trellis install`, every object already carrying the
 *    labels of the Package that will own it (so the Package adopts them
 *    without a collision);
 * 3. creates the account the Package applies as (`trellis-bootstrap`, bound to
 *    cluster-admin: the installation writes CRDs and RBAC, which needs it);
 * 4. creates the OCIRepository `trellis` (following a semver range of the
 *    repository's tags) and the Package `trellis` in the Trellis namespace.
 *
 * Later upgrades arrive by pushing a new version (`--push-only`): the
 * OCIRepository finds it and the Package applies it with the controllers
 * themselves. Every validation (reference, image, versions, cluster, rights)
 * runs before the first push or write.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { valid as validSemver, validRange } from 'semver';
import { checkBundleDir, writeBundleDir } from '../../packages-cdk8s/build/bundle.ts';
import { loadCredentials } from '../../packages-cdk8s/build/credentials.ts';
import { pushBundle, reproducibleCreated } from '../../packages-cdk8s/build/push.ts';
import { planBuild } from '../../packages-cdk8s/kit/index.ts';
import type { MonitoringOptions } from '../../packages-cdk8s/trellis/monitoring.ts';
import { trellisPackage } from '../../packages-cdk8s/trellis/package.ts';
import { DEFAULT_IMAGE, TRELLIS_VERSION } from '../../packages-cdk8s/trellis/version.ts';
import { createDeterministicTarGz } from '../../runtime/archive.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { formatReference, OciClient, parseReference, type OciReference, type PushedArtifact } from '../../source-controller/index.ts';
import { parseDuration, parseDurationText, timeoutOption } from '../package/args.ts';
import { examples, processIO, runAction, target, type CommandIO } from '../package/context.ts';
import { CliError } from '../package/errors.ts';
import { applyInstall, describeAction, INSTALL_FIELD_MANAGER } from './apply.ts';
import { monitoringOption, preflightInstall } from './install.ts';
import { checkImageReference, labelledForSelfPackage, renderInstall, SELF_PACKAGE } from './render.ts';
import { waitForRollout } from './rollout.ts';

/** The account the self-managing Package applies as. */
export const BOOTSTRAP_ACCOUNT = 'trellis-bootstrap';

/** Flags of `trellis bootstrap`. */
export interface BootstrapFlags {
  readonly image?: string | undefined;
  /** The package version (default: this trellis's; the tag when the reference has a semver tag). */
  readonly version?: string | undefined;
  /** The semver range the OCIRepository follows (default `>=` the version). */
  readonly semver?: string | undefined;
  readonly interval?: string | undefined;
  readonly namespace?: string | undefined;
  readonly insecure?: boolean | undefined;
  readonly creds?: string | undefined;
  readonly caFile?: string | undefined;
  readonly pushOnly?: boolean | undefined;
  readonly wait?: boolean | undefined;
  readonly timeout?: number | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  /** `--monitoring`: the Grafana dashboard and/or the PrometheusRule, in the pushed package too. */
  readonly monitoring?: MonitoringOptions | undefined;
}

/** What bootstrap settled on after validation. */
interface BootstrapPlan {
  readonly reference: OciReference;
  readonly version: string;
  readonly image: string;
  readonly semver: string;
}

/** Validates the flags; nothing is pushed or written yet. */
export function planBootstrap(target: string, flags: BootstrapFlags): BootstrapPlan {
  const parsed = parseReference(target);
  if (parsed.digest) throw new CliError(`${target}: bootstrap pushes a tag, not a digest`);
  const tagVersion = parsed.tag && validSemver(parsed.tag) ? parsed.tag : undefined;
  const version = flags.version ?? tagVersion ?? TRELLIS_VERSION;
  if (!validSemver(version)) throw new CliError(`version "${version}" is not a semantic version`);
  if (parsed.tag && tagVersion && tagVersion !== version) throw new CliError(`the tag ${parsed.tag} and --version ${version} disagree`);
  const image = flags.image ?? (flags.version ? `${DEFAULT_IMAGE.replace(/:[^:/]+$/, '')}:${version}` : DEFAULT_IMAGE);
  checkImageReference(image);
  const semver = flags.semver ?? `>=${version}`;
  if (!validRange(semver)) throw new CliError(`--semver "${semver}" is not a semver range`);
  return { reference: { ...parsed, tag: parsed.tag ?? version }, version, image, semver };
}

/** Builds the installation bundle for `plan` in memory and pushes it; returns the pushed artifact. */
export async function pushSelfPackage(plan: BootstrapPlan, flags: BootstrapFlags): Promise<PushedArtifact> {
  const built = planBuild(trellisPackage({ image: plan.image, version: plan.version, ...(flags.monitoring ? { monitoring: flags.monitoring } : {}) }));
  const work = await mkdtemp(join(tmpdir(), 'trellis-bootstrap-'));
  const credentials = await loadCredentials(flags.creds !== undefined ? { creds: flags.creds } : {});
  const client = new OciClient({ insecure: flags.insecure ?? false, caFile: flags.caFile, credentials });
  try {
    const dir = join(work, 'bundle');
    await writeBundleDir(built, dir);
    const read = await checkBundleDir(dir, built);
    const file = join(work, 'bundle.tgz');
    await createDeterministicTarGz(dir, file);
    return await pushBundle({ client, reference: plan.reference, file, manifest: read.manifest!, created: reproducibleCreated() });
  } finally {
    client.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** The bootstrap account, its binding, the OCIRepository and the Package. */
export function selfManagementObjects(plan: BootstrapPlan, namespace: string, flags: BootstrapFlags): KubeObject[] {
  const ref = plan.reference;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: BOOTSTRAP_ACCOUNT, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name: BOOTSTRAP_ACCOUNT, annotations: { 'trellis.dev/purpose': 'the account the Package that installs Trellis applies as: CRDs and RBAC need cluster-admin' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: BOOTSTRAP_ACCOUNT, namespace }],
    },
    {
      apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: SELF_PACKAGE, namespace },
      spec: {
        url: `oci://${ref.host}/${ref.repository}`, ref: { semver: plan.semver }, interval: flags.interval ?? '5m',
        ...(flags.insecure ? { insecure: true } : {}),
      },
    },
    {
      apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: SELF_PACKAGE, namespace },
      spec: {
        sourceRef: { kind: 'OCIRepository', name: SELF_PACKAGE }, interval: flags.interval ?? '5m', timeout: '10m',
        serviceAccountName: BOOTSTRAP_ACCOUNT, values: { namespace },
      },
    },
  ] as KubeObject[];
}

/** Runs bootstrap against `client`. */
export async function bootstrapTrellis(client: KubeClient | undefined, targetRef: string, flags: BootstrapFlags, io: CommandIO): Promise<void> {
  const plan = planBootstrap(targetRef, flags);
  const rendered = renderInstall({ image: plan.image, namespace: flags.namespace, monitoring: flags.monitoring });
  if (client) await preflightInstall(client, rendered.namespace, rendered.monitoring);
  const pushed = await pushSelfPackage(plan, flags);
  io.term.out(`pushed trellis ${plan.version} (${plan.image}) to oci://${formatReference(pushed.reference)}\n`);
  if (!client) return;
  await applyInstall(client, labelledForSelfPackage(rendered), { onApplied: (o, action) => io.term.err(`${describeAction(o, action)}\n`) });
  for (const o of selfManagementObjects(plan, rendered.namespace, flags)) {
    await client.apply(o, { fieldManager: INSTALL_FIELD_MANAGER, force: true });
    io.term.err(`${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''} applied\n`);
  }
  io.term.out(`Trellis now manages itself: Package ${rendered.namespace}/${SELF_PACKAGE} follows oci://${plan.reference.host}/${plan.reference.repository} ${plan.semver}. `
    + `Upgrade with: trellis bootstrap oci://${plan.reference.host}/${plan.reference.repository}:NEW_VERSION --image NEW_IMAGE --push-only\n`);
  if (flags.wait) await waitForRollout(client, rendered.namespace, flags.timeout ?? 300_000);
}

/** Runs `trellis bootstrap`. */
export async function runBootstrap(targetRef: string, flags: BootstrapFlags, io: CommandIO): Promise<void> {
  if (flags.pushOnly) {
    await bootstrapTrellis(undefined, targetRef, flags, io);
    return;
  }
  const { client } = target(io, { kubeconfig: flags.kubeconfig, context: flags.context });
  try {
    await bootstrapTrellis(client, targetRef, flags, io);
  } finally {
    client.transport.close();
  }
}

/** The `bootstrap` subcommand. */
export function bootstrapCommand(io: CommandIO = processIO()): Command {
  return new Command('bootstrap')
    .description('push Trellis\'s own package to a registry, install it, and let Trellis upgrade itself from there')
    .argument('<reference>', 'oci://HOST/REPO[:TAG] for the package (default tag: the version)')
    .option('--image <ref>', 'image of both controllers (default: the release image of the version)')
    .option('--version <semver>', 'version of the pushed package (default: a semver tag, else this trellis\'s)')
    .option('--semver <range>', 'range of versions the OCIRepository follows (default: >=VERSION)')
    .option('--interval <duration>', 'how often the OCIRepository looks for a new version', parseDurationText)
    .option('-n, --namespace <namespace>', 'namespace of the controllers', 'trellis-system')
    .option('--push-only', 'only push the package (a new version for a bootstrapped cluster)', false)
    .addOption(monitoringOption())
    .option('--insecure', 'plain HTTP to the registry (the OCIRepository too)')
    .option('--creds <user:password>', 'registry credentials (default: the docker config.json entry of the host)')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the registry')
    .option('--wait', 'wait until both Deployments have rolled out', false)
    .addOption(timeoutOption().argParser(parseDuration))
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .addHelpText('after', examples(
      'trellis bootstrap oci://registry.example/platform/trellis --image registry.example/trellis:0.1.0',
      'trellis bootstrap oci://registry.example/platform/trellis:0.2.0 --image registry.example/trellis:0.2.0 --push-only',
    ))
    .action(async (ref: string, flags: BootstrapFlags) => { await runAction(io, () => runBootstrap(ref, flags, io)); });
}
