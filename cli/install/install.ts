/**
 * `trellis install`: renders Trellis's own installation package with the chosen
 * image and namespace and applies it to the current kubeconfig's cluster
 * (`--dry-run -o yaml` prints it instead, for Git). Before the first write it
 * checks the Kubernetes version, the APIs and the user's rights, so a refused
 * install leaves nothing half done. `--wait` waits for both Deployments to roll
 * out (their Pods must run: on a cluster without nodes it times out and says so).
 * `--monitoring` adds the Grafana dashboard and/or the PrometheusRule; the
 * rule's CRD is part of the checks before the first write.
 */
import { Command, Option } from 'commander';
import { packageResource } from '../../apply-controller/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { parseDuration, timeoutOption } from '../package/args.ts';
import { examples, processIO, runAction, target, type CommandIO } from '../package/context.ts';
import { CliError } from '../package/errors.ts';
import { renderObjects } from '../package/output.ts';
import { applyInstall, describeAction, pruneStale } from './apply.ts';
import type { MonitoringOptions } from '../../packages-cdk8s/trellis/monitoring.ts';
import { checkKubernetesVersion, checkMonitoringApis, checkOwnRights, checkRequiredApis, installRights, type CheckResult } from './cluster-checks.ts';
import { labelledForSelfPackage, MONITORING_PARTS, NO_MONITORING, parseMonitoring, renderInstall, SELF_PACKAGE, type RenderedInstall } from './render.ts';
import { waitForRollout } from './rollout.ts';

/** Flags of `trellis install`. */
export interface InstallFlags {
  readonly image?: string | undefined;
  readonly namespace?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly output?: 'yaml' | 'json' | undefined;
  readonly wait?: boolean | undefined;
  /** Milliseconds. */
  readonly timeout?: number | undefined;
  readonly sourceReplicas?: number | undefined;
  readonly applyReplicas?: number | undefined;
  /** `--monitoring`: the Grafana dashboard and/or the PrometheusRule. */
  readonly monitoring?: MonitoringOptions | undefined;
}

/**
 * Refuses to install when the cluster is too old, lacks an API (the
 * PrometheusRule CRD too, when `monitoring` asks for the rules), or the user
 * may not write what the installation holds. Returns the results that passed.
 */
export async function preflightInstall(client: KubeClient, namespace: string, monitoring: MonitoringOptions = NO_MONITORING): Promise<CheckResult[]> {
  const results = [await checkKubernetesVersion(client), ...await checkRequiredApis(client), ...await checkMonitoringApis(client, monitoring),
    ...await checkOwnRights(client, installRights(namespace, monitoring))];
  const failed = results.filter((r) => r.status === 'fail');
  if (failed.length > 0) {
    throw new CliError(`cannot install Trellis; nothing was written:\n${failed.map((r) => `  ${r.name}: ${r.message}`).join('\n')}`);
  }
  return results;
}

/** Whether a bootstrapped Package manages this installation. */
async function selfManaged(client: KubeClient, namespace: string): Promise<boolean> {
  const type = { apiVersion: packageResource.apiVersion, kind: packageResource.gvk.kind };
  if (!await client.serves(type.apiVersion, type.kind)) return false;
  return (await client.get({ ...type, namespace, name: SELF_PACKAGE })) !== undefined;
}

/** Installs (or upgrades) Trellis with `client`; returns what was rendered. */
export async function installTrellis(client: KubeClient, flags: InstallFlags, io: CommandIO): Promise<RenderedInstall> {
  let rendered = renderInstall(flags);
  await preflightInstall(client, rendered.namespace, rendered.monitoring);
  if (await selfManaged(client, rendered.namespace)) {
    // Keep the Package's labels (this manager wrote them at bootstrap): without them the Package would see its objects as foreign.
    rendered = labelledForSelfPackage(rendered);
    io.term.err(`note: Trellis manages itself here (Package ${rendered.namespace}/${SELF_PACKAGE}); it will apply its own version again at its next reconcile\n`);
  }
  io.term.err(`installing Trellis (${rendered.image}) into namespace ${rendered.namespace}\n`);
  await applyInstall(client, rendered, { onApplied: (o, action) => io.term.out(`${describeAction(o, action)}\n`) });
  for (const gone of await pruneStale(client, rendered)) {
    const monitoring = /^(ConfigMap|PrometheusRule) /.test(gone);
    io.term.out(`${gone} deleted (${monitoring ? 'not asked for: --monitoring keeps it' : 'not in this version'})\n`);
  }
  if (flags.wait) {
    const states = await waitForRollout(client, rendered.namespace, flags.timeout ?? 300_000);
    io.term.out(`controllers ready: ${states.map((s) => `${s.name} ${s.message}`).join(', ')}\n`);
  } else {
    io.term.err(`installed; \`trellis check\` tells when the controllers are ready\n`);
  }
  return rendered;
}

/** Runs `trellis install` with parsed flags. */
export async function runInstall(flags: InstallFlags, io: CommandIO): Promise<void> {
  if (flags.dryRun) {
    if (flags.wait) throw new CliError('--dry-run and --wait do not go together');
    const rendered = renderInstall(flags);
    io.term.out(renderObjects(rendered.objects, flags.output ?? 'yaml'));
    return;
  }
  if (flags.output) throw new CliError('-o prints the installation and needs --dry-run');
  const { client } = target(io, { kubeconfig: flags.kubeconfig, context: flags.context });
  try {
    await installTrellis(client, flags, io);
  } finally {
    client.transport.close();
  }
}

const replicas = (text: string): number => {
  const n = Number(text);
  if (!/^[0-3]$/.test(text.trim())) throw new CliError(`expected 0 to 3 replicas, got "${text}"`);
  return n;
};

/**
 * `--monitoring PARTS`, shared by install and bootstrap: a value is required, so
 * the option never swallows bootstrap's reference argument.
 */
export function monitoringOption(): Option {
  return new Option('--monitoring <parts>',
    `also install the Grafana dashboard and/or the alert rules: ${MONITORING_PARTS.join(', ')} (comma-separated; rules need prometheus-operator's PrometheusRule CRD)`)
    .argParser(parseMonitoring);
}

/** The `install` subcommand. */
export function installCommand(io: CommandIO = processIO()): Command {
  return new Command('install')
    .description('install or upgrade Trellis (CRDs, RBAC, both controllers) in the current cluster')
    .option('--image <ref>', 'image of both controllers (default: this version\'s release image)')
    .option('-n, --namespace <namespace>', 'namespace of the controllers', 'trellis-system')
    .option('--source-replicas <n>', 'source-controller replicas (0-3)', replicas)
    .option('--apply-replicas <n>', 'apply-controller replicas (0-3)', replicas)
    .addOption(monitoringOption())
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--dry-run', 'print the objects instead of applying them (with -o)', false)
    .addOption(new Option('-o, --output <format>', 'with --dry-run: yaml or json').choices(['yaml', 'json']))
    .option('--wait', 'wait until both Deployments have rolled out', false)
    .addOption(timeoutOption().argParser(parseDuration))
    .addHelpText('after', examples(
      'trellis install --image registry.example/trellis:0.1.0 --wait',
      'trellis install --dry-run -o yaml > trellis.yaml',
      'trellis install --image registry.example/trellis:0.1.0 --monitoring all',
    ))
    .action(async (flags: InstallFlags) => { await runAction(io, () => runInstall(flags, io)); });
}
