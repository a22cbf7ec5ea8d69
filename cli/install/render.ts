/**
 * The objects `trellis install` applies: Trellis's own installation package
 * (packages-cdk8s/trellis) synthesized in memory with the chosen image and
 * namespace, split into the two phases the package declares (CRDs and the
 * namespace first, then everything that needs them).
 */
import { synth } from '../../packages-cdk8s/kit/index.ts';
import trellis, { TRELLIS_NAMESPACE, trellisPackage } from '../../packages-cdk8s/trellis/package.ts';
import type { MonitoringOptions } from '../../packages-cdk8s/trellis/monitoring.ts';
import { DEFAULT_IMAGE } from '../../packages-cdk8s/trellis/version.ts';
import { PHASE_ANNOTATION, packageLabels } from '../../apply-controller/index.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { CliError } from '../package/errors.ts';

/** An object of the installation, with the fields install relies on. */
export interface InstallObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The name of the OCIRepository and Package through which a bootstrapped Trellis manages itself. */
export const SELF_PACKAGE = 'trellis';

/** What to render. */
export interface RenderOptions {
  /** Image of both controllers (default: this version's release image). */
  readonly image?: string | undefined;
  /** Namespace of the controllers (default `trellis-system`). */
  readonly namespace?: string | undefined;
  readonly sourceReplicas?: number | undefined;
  readonly applyReplicas?: number | undefined;
  /** The Grafana dashboard ConfigMap and the PrometheusRule (default: neither; see {@link parseMonitoring}). */
  readonly monitoring?: MonitoringOptions | undefined;
}

/** The installation, phase by phase in apply order. */
export interface RenderedInstall {
  readonly image: string;
  readonly namespace: string;
  /** Every object in apply order. */
  readonly objects: readonly InstallObject[];
  /** `[phase, objects]` in apply order. */
  readonly phases: readonly (readonly [string, readonly InstallObject[]])[];
  /** The monitoring objects it holds. */
  readonly monitoring: MonitoringOptions;
}

/** No dashboard, no rules: the default. */
export const NO_MONITORING: MonitoringOptions = { grafanaDashboard: false, prometheusRule: false };

/** The parts `--monitoring` takes (comma-separated); `all` is both. */
export const MONITORING_PARTS = ['dashboard', 'rules', 'all'] as const;

/**
 * Parses `--monitoring PARTS`: a comma-separated list of `dashboard` (the
 * Grafana dashboard ConfigMap), `rules` (the PrometheusRule, which needs
 * prometheus-operator's CRD) and `all` (both).
 */
export function parseMonitoring(text: string): MonitoringOptions {
  const parts = text.split(',').map((p) => p.trim());
  const unknown = parts.filter((p) => !(MONITORING_PARTS as readonly string[]).includes(p));
  if (unknown.length > 0 || parts.length === 0) {
    throw new CliError(`--monitoring "${text}": expected a comma-separated list of ${MONITORING_PARTS.join(', ')}`);
  }
  const all = parts.includes('all');
  return { grafanaDashboard: all || parts.includes('dashboard'), prometheusRule: all || parts.includes('rules') };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// host[:port]/path[:tag][@sha256:hex]: what a container runtime accepts, loosely (no spaces, no scheme).
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._/-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** Throws a CliError for an image reference a kubelet would not pull. */
export function checkImageReference(image: string): void {
  if (image.includes('://')) throw new CliError(`--image "${image}": an image reference has no scheme (e.g. registry.example/trellis:0.1.0)`);
  if (!IMAGE_REF.test(image)) throw new CliError(`--image "${image}" is not an image reference (host/repository[:tag][@sha256:digest])`);
}

/** Renders the installation; every validation happens here, before anything is written. */
export function renderInstall(opts: RenderOptions = {}): RenderedInstall {
  const image = opts.image ?? DEFAULT_IMAGE;
  const namespace = opts.namespace ?? TRELLIS_NAMESPACE;
  checkImageReference(image);
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    throw new CliError(`--namespace "${namespace}" is not a valid namespace name (lowercase letters, digits and '-', at most 63)`);
  }
  const monitoring = opts.monitoring ?? NO_MONITORING;
  const definition = monitoring.grafanaDashboard || monitoring.prometheusRule ? trellisPackage({ monitoring }) : trellis;
  const objects = synth(definition, {
    image, namespace,
    ...(opts.sourceReplicas !== undefined ? { sourceController: { replicas: opts.sourceReplicas } } : {}),
    ...(opts.applyReplicas !== undefined ? { applyController: { replicas: opts.applyReplicas } } : {}),
  }) as unknown as InstallObject[];
  const phases: [string, InstallObject[]][] = [];
  for (const o of objects) {
    const phase = o.metadata.annotations?.[PHASE_ANNOTATION] ?? '';
    const last = phases.at(-1);
    if (last && last[0] === phase) last[1].push(o);
    else phases.push([phase, [o]]);
  }
  return { image, namespace, objects, phases, monitoring };
}

/** `Kind namespace/name` for messages. */
export function describeObject(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? 'object'} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? ''}`;
}

/** The installation with the self Package's labels on every object. */
export function labelledForSelfPackage(rendered: RenderedInstall): RenderedInstall {
  const labels = packageLabels(SELF_PACKAGE, rendered.namespace);
  const label = <T extends KubeObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata?.labels, ...labels } } });
  const phases = rendered.phases.map(([p, objects]) => [p, objects.map(label)] as const);
  return { ...rendered, phases, objects: phases.flatMap(([, o]) => o) };
}
