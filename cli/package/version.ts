/**
 * `trellis version` / `kubectl package version` (and `--version`): this CLI's
 * version, and — when a cluster is reachable — the Kubernetes server's and the
 * version each installed controller runs (read from its Deployment's image and
 * labels). Like `kubectl version`, an unreachable cluster is an error unless
 * `--client` asks for the CLI's version alone.
 */
import { Command, Option } from 'commander';
import { TRELLIS_VERSION } from '../../packages-cdk8s/trellis/version.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { examples, runAction, target, type CommandIO } from './context.ts';
import { formatTable } from './format.ts';
import { outputFormatParser, renderFormatted, type OutputFormat } from './output.ts';

/** The controllers `version` looks for, by Deployment name. */
export const CONTROLLERS = ['source-controller', 'apply-controller'] as const;

/** The namespace `trellis install` puts Trellis in by default. */
export const DEFAULT_TRELLIS_NAMESPACE = 'trellis-system';

/** What one controller runs. */
export interface ControllerVersion {
  readonly name: string;
  /** The version (the `app.kubernetes.io/version` label, else the image tag), or undefined when not installed. */
  readonly version?: string | undefined;
  readonly image?: string | undefined;
  /** `1/1` ready replicas. */
  readonly ready?: string | undefined;
}

/** Everything `version` reports (`-o json|yaml` prints this). */
export interface VersionReport {
  readonly client: { readonly version: string; readonly node: string };
  readonly server?: {
    readonly url: string;
    readonly kubernetes: string;
    readonly namespace: string;
    readonly controllers: readonly ControllerVersion[];
  } | undefined;
}

/** Flags of `version`. */
export interface VersionFlags {
  readonly client?: boolean;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output?: OutputFormat;
}

interface Deployment extends KubeObject {
  spec?: { replicas?: number; template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
  status?: { readyReplicas?: number };
}

/** The version an image reference names: its tag, else its digest, else undefined. */
export function imageVersion(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  return colon >= 0 ? lastPart.slice(colon + 1) : undefined;
}

/** What a controller's Deployment says it runs. */
export function controllerVersion(name: string, deployment: Deployment | undefined): ControllerVersion {
  if (!deployment) return { name };
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === 'manager') ?? containers[0])?.image;
  const label = deployment.metadata?.labels?.['app.kubernetes.io/version'];
  return {
    name, image, version: label ?? imageVersion(image),
    ready: `${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 1}`,
  };
}

async function serverReport(client: KubeClient, url: string, namespace: string): Promise<NonNullable<VersionReport['server']>> {
  const info = await client.raw<{ gitVersion?: string }>('get', 'GET', '/version');
  const controllers = await Promise.all(CONTROLLERS.map(async (name) => controllerVersion(name,
    await client.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name }))));
  return { url, kubernetes: info.gitVersion ?? 'unknown', namespace, controllers };
}

/** The CLI's own version line, as `--version` prints it. */
export function clientVersionLine(): string {
  return `trellis ${TRELLIS_VERSION} (Node.js ${process.version})`;
}

/** The human-readable report. */
export function formatVersion(report: VersionReport): string {
  const lines = [`Client:      trellis ${report.client.version} (Node.js ${report.client.node})`];
  const { server } = report;
  if (server) {
    lines.push(`Kubernetes:  ${server.kubernetes} at ${server.url}`);
    const rows = server.controllers.map((c) => [c.name, c.version ?? '-', c.ready ?? '-', c.image ?? `not installed in ${server.namespace}`]);
    lines.push(...formatTable(['CONTROLLER', 'VERSION', 'READY', 'IMAGE'], rows).trimEnd().split('\n'));
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `version`. */
export async function showVersion(io: CommandIO, flags: VersionFlags): Promise<void> {
  const client = { version: TRELLIS_VERSION, node: process.version };
  let server: VersionReport['server'];
  if (!flags.client) {
    const t = target(io, { kubeconfig: flags.kubeconfig, context: flags.context });
    try {
      server = await serverReport(t.client, t.kubeConfig.getCurrentCluster()?.server ?? '', flags.namespace ?? DEFAULT_TRELLIS_NAMESPACE);
    } catch (err) {
      // The client's version is worth printing even when the cluster cannot be reached (the error follows).
      io.term.out(formatVersion({ client }));
      throw err;
    }
  }
  const report: VersionReport = { client, ...(server ? { server } : {}) };
  const format = flags.output ?? 'table';
  if (format === 'json' || format === 'yaml' || format.startsWith('jsonpath=')) {
    io.term.out(renderFormatted([report as unknown as KubeObject], format as 'json'));
  } else io.term.out(formatVersion(report));
}

/** The `version` subcommand. */
export function versionCommand(io: CommandIO): Command {
  return new Command('version')
    .description('print the versions of this CLI, of the Kubernetes server and of the installed Trellis controllers')
    .option('--client', 'only this CLI\'s version (no cluster needed)', false)
    .option('-n, --namespace <namespace>', 'the namespace Trellis is installed in', DEFAULT_TRELLIS_NAMESPACE)
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .addOption(new Option('-o, --output <format>', 'output format: table, json, yaml, jsonpath=TEMPLATE')
      .argParser(outputFormatParser(['table', 'json', 'yaml', 'jsonpath'])).default('table'))
    .addHelpText('after', examples('kubectl package version', 'trellis version --client', 'trellis version -o json'))
    .action(async (flags: VersionFlags) => { await runAction(io, () => showVersion(io, flags)); });
}
