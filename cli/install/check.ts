/**
 * `trellis check [--pre]`: whether Trellis can be installed (`--pre`: the
 * Kubernetes version, the APIs, the user's rights) or is installed and working:
 * its CRDs as this version expects them, the controllers' rights, both
 * Deployments rolled out, a leader holding each controller's Lease, and the
 * artifact server behind its Service. One line per fact; exit code 1 when
 * anything failed, 0 otherwise (warnings included).
 *
 * "Artifact server reachable" means: the `source-controller` Service exists and
 * its Endpoints list a ready address for the `http` port, i.e. cluster DNS and
 * kube-proxy will route the apply controller's downloads to a serving replica.
 * The CLI does not download through it (it runs outside the cluster network,
 * and the NetworkPolicy lets only the apply controller in).
 */
import { Command, Option } from 'commander';
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { examples, processIO, runAction, target, type CommandIO } from '../package/context.ts';
import { ExitStatus } from '../package/errors.ts';
import {
  checkAccountRights, checkKubernetesVersion, checkOwnRights, checkRequiredApis, controllerRights, installRights, type CheckResult,
} from './cluster-checks.ts';
import { renderInstall, type InstallObject } from './render.ts';
import { readRollout } from './rollout.ts';

/** Flags of `trellis check`. */
export interface CheckFlags {
  readonly pre?: boolean | undefined;
  readonly namespace?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly output?: 'table' | 'json' | undefined;
}

interface Crd extends KubeObject {
  spec?: { versions?: unknown[] };
  status?: { conditions?: { type: string; status: string }[] };
}

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

interface Endpoints extends KubeObject {
  subsets?: { addresses?: { ip: string; targetRef?: { name?: string } }[]; ports?: { name?: string; port: number }[] }[];
}

/** A copy without `properties: {}` entries, which the apiserver drops from a stored schema. */
function withoutEmptyProperties(value: unknown): unknown {
  if (Array.isArray(value)) return (value as unknown[]).map(withoutEmptyProperties);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'properties' && typeof v === 'object' && v !== null && Object.keys(v).length === 0) continue;
    out[k] = withoutEmptyProperties(v);
  }
  return out;
}

/** The installed CRDs against the ones this version installs. */
export async function checkCrds(client: KubeClient, expected: readonly InstallObject[]): Promise<CheckResult[]> {
  return Promise.all(expected.filter((o) => o.kind === 'CustomResourceDefinition').map(async (want) => {
    const name = `crd ${want.metadata.name}`;
    const live = await client.get<Crd>({ apiVersion: want.apiVersion, kind: want.kind, name: want.metadata.name });
    if (!live) return { name, status: 'fail', message: 'not installed' } as const;
    if (live.status?.conditions?.find((c) => c.type === 'Established')?.status !== 'True') {
      return { name, status: 'fail', message: 'not established (the API does not serve it)' } as const;
    }
    const wantVersions = (want as unknown as Crd).spec?.versions ?? [];
    const names = (vs: unknown[]): string => vs.map((v) => (v as { name?: string }).name).join(', ');
    if (!isDeepStrictEqual(withoutEmptyProperties(live.spec?.versions), withoutEmptyProperties(wantVersions))) {
      return { name, status: 'warn', message: `versions ${names(live.spec?.versions ?? [])} differ from this trellis's (${names(wantVersions)}): trellis install upgrades them` } as const;
    }
    return { name, status: 'ok', message: `versions ${names(wantVersions)} as expected` } as const;
  }));
}

/** Both Deployments rolled out. */
export async function checkControllers(client: KubeClient, namespace: string): Promise<CheckResult[]> {
  return (await readRollout(client, namespace)).map((s) => ({
    name: `deployment ${s.name}`, status: s.ready ? 'ok' : 'fail', message: s.message,
  }));
}

/** Each controller's Lease is held and was renewed within its duration. */
export async function checkLeaders(client: KubeClient, namespace: string, now: Date): Promise<CheckResult[]> {
  return Promise.all(['source-controller', 'apply-controller'].map(async (controller) => {
    const leaseName = `trellis-${controller}`;
    const name = `leader ${controller}`;
    const lease = await client.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: leaseName });
    const holder = lease?.spec?.holderIdentity;
    if (!lease || !holder) return { name, status: 'fail', message: `no replica holds the Lease ${namespace}/${leaseName}` } as const;
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const validMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const ageS = Math.round((now.getTime() - renewed) / 1000);
    if (!Number.isFinite(renewed) || now.getTime() - renewed > validMs) {
      return { name, status: 'fail', message: `${holder} last renewed ${ageS} s ago (expired): no replica is leading` } as const;
    }
    return { name, status: 'ok', message: `${holder} (renewed ${Math.max(0, ageS)} s ago)` } as const;
  }));
}

/** The source-controller Service routes its `http` port to at least one ready replica. */
export async function checkArtifactServer(client: KubeClient, namespace: string): Promise<CheckResult> {
  const name = 'artifact server';
  const service = await client.get({ apiVersion: 'v1', kind: 'Service', namespace, name: 'source-controller' });
  if (!service) return { name, status: 'fail', message: `no Service ${namespace}/source-controller` };
  const endpoints = await client.get<Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', namespace, name: 'source-controller' });
  const ready = (endpoints?.subsets ?? []).filter((s) => s.ports?.some((p) => p.name === 'http')).flatMap((s) => s.addresses ?? []);
  if (ready.length === 0) return { name, status: 'fail', message: `Service ${namespace}/source-controller has no ready endpoint: downloads would fail` };
  const who = ready.map((a) => a.targetRef?.name ?? a.ip).join(', ');
  return { name, status: 'ok', message: `http://source-controller.${namespace}.svc routes to ${who}` };
}

/** Every check of an installed Trellis (or, with `pre`, of a cluster about to get one), in report order. */
export async function runChecks(client: KubeClient, flags: CheckFlags, now: Date): Promise<CheckResult[]> {
  const rendered = renderInstall({ namespace: flags.namespace });
  const ns = rendered.namespace;
  const base = [await checkKubernetesVersion(client), ...await checkRequiredApis(client)];
  if (flags.pre) return [...base, ...await checkOwnRights(client, installRights(ns))];
  const rights = controllerRights(ns);
  return [
    ...base,
    ...await checkCrds(client, rendered.objects),
    ...await checkAccountRights(client, ns, 'source-controller', rights['source-controller']),
    ...await checkAccountRights(client, ns, 'apply-controller', rights['apply-controller']),
    ...await checkControllers(client, ns),
    ...await checkLeaders(client, ns, now),
    await checkArtifactServer(client, ns),
  ];
}

/** The report: one line per check, then a summary. */
export function formatChecks(results: readonly CheckResult[]): string {
  const mark = { ok: '✔', warn: '!', fail: '✗' } as const;
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => `${mark[r.status]} ${r.name.padEnd(width)}  ${r.message}`);
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  lines.push(failed > 0 ? `${failed} check${failed === 1 ? '' : 's'} failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}`
    : `all checks passed${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Runs `trellis check`; exits 1 when a check failed. */
export async function runCheck(flags: CheckFlags, io: CommandIO): Promise<CheckResult[]> {
  const { client } = target(io, { kubeconfig: flags.kubeconfig, context: flags.context });
  try {
    const results = await runChecks(client, flags, io.now());
    io.term.out(flags.output === 'json' ? `${JSON.stringify(results, null, 2)}\n` : formatChecks(results));
    if (results.some((r) => r.status === 'fail')) throw new ExitStatus(1);
    return results;
  } finally {
    client.transport.close();
  }
}

/** The `check` subcommand. */
export function checkCommand(io: CommandIO = processIO()): Command {
  return new Command('check')
    .description('check that Trellis can be installed (--pre) or is installed and working; exit code 1 when a check fails')
    .option('--pre', 'only what installing needs: Kubernetes version, APIs, your rights', false)
    .option('-n, --namespace <namespace>', 'namespace of the controllers', 'trellis-system')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .addHelpText('after', examples('trellis check --pre', 'trellis check -n trellis-system'))
    .action(async (flags: CheckFlags) => { await runAction(io, async () => { await runCheck(flags, io); }); });
}
