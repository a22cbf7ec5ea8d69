/**
 * A Trellis package written with cdk8s: its name and version, its values, and a
 * `build` function that adds charts to a {@link PackageApp}. Each top-level chart
 * is a **phase**; chart dependencies (`app.phase('apps', {after: [crds]})` or
 * cdk8s' own `chart.addDependency`) order the phases, and every object gets the
 * `apply.trellis.dev/phase` annotation of its phase.
 *
 * ```ts
 * export default definePackage({
 *   name: 'web', version: '1.0.0',
 *   values: { replicas: value.integer({ default: 2, minimum: 0 }) },
 *   build(app, values) {
 *     const config = app.phase('config');
 *     const apps = app.phase('apps', { after: [config] });
 *     new k8s.KubeDeployment(apps, 'web', { spec: { replicas: values.replicas, ... } });
 *   },
 * });
 * ```
 *
 * A package file default-exports its definition; `trellis build <dir>` runs
 * `<dir>/package.ts` in a child process and writes the bundle.
 */
import { App, Chart, type ChartProps } from 'cdk8s';
import semver from 'semver';
import { resolveValues } from '../../apply-controller/bundle/index.ts';
import { PackageDefinitionError } from './errors.ts';
import { fileDeclarationProblem } from './files.ts';
import { valuesSchema, type ValuesOf, type ValuesShape } from './values.ts';

const PACKAGE = Symbol.for('trellis.kit.package');

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Options of {@link PackageApp.phase}: a cdk8s chart's, plus the phases it comes after. */
export interface PhaseProps extends ChartProps {
  /** Phases applied (and healthy) before this one. */
  readonly after?: readonly Chart[];
}

/**
 * The cdk8s app a package builds into. It is never synthesized to disk: the kit
 * reads the charts in memory.
 */
export class PackageApp extends App {
  constructor() {
    // The outdir is never written; a fixed one keeps CDK8S_OUTDIR from mattering.
    super({ outdir: 'dist' });
  }

  /** Adds a phase: a top-level chart named `name` (a DNS-1123 label), after the given phases. */
  phase(name: string, props: PhaseProps = {}): Chart {
    const { after, ...chartProps } = props;
    const chart = new Chart(this, name, chartProps);
    if (after && after.length > 0) chart.addDependency(...after);
    return chart;
  }
}

/** What {@link definePackage} takes. */
export interface PackageProps<S extends ValuesShape> {
  /** The package name, a DNS-1123 label. */
  readonly name: string;
  /** The package version, semver. */
  readonly version: string;
  readonly description?: string;
  /** The install-time values, declared with `value.*`. */
  readonly values?: S;
  /**
   * Files the program reads (`ConfigMap.addFile`, `Include`, `fs.readFileSync`):
   * paths, folders or glob patterns relative to the package folder, like
   * `['nginx.conf', 'crds/*.yaml']`. `trellis build` embeds them in the program
   * bundle; in the sandbox they are the only files there are, read-only.
   */
  readonly files?: readonly string[];
  /** Adds the package's charts (its phases) to `app`, using `values`. */
  readonly build: (app: PackageApp, values: ValuesOf<S>) => void;
}

/** A package, as {@link definePackage} returns it. */
export interface PackageDefinition<S extends ValuesShape = ValuesShape> {
  readonly [PACKAGE]: true;
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly values: S;
  /** The JSON Schema of the values (the one package.yaml carries). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The declared files (see {@link PackageProps.files}); empty when none are. */
  readonly files: readonly string[];
  // A method, not a function property: methods are bivariant, so a package with
  // specific values is still a PackageDefinition for code that takes any package.
  build(app: PackageApp, values: ValuesOf<S>): void;
}

/**
 * Defines a package. Checks the name (DNS-1123 label), the version (semver), the
 * value declarations, and that every default satisfies its own constraints;
 * throws {@link PackageDefinitionError} otherwise.
 */
export function definePackage<const S extends ValuesShape = Record<never, never>>(props: PackageProps<S>): PackageDefinition<S> {
  const problems: string[] = [];
  if (typeof props.name !== 'string' || props.name.length > 63 || !DNS_LABEL.test(props.name)) {
    problems.push(`name ${JSON.stringify(props.name)} must be a DNS-1123 label (at most 63 lowercase letters, digits and "-")`);
  }
  if (typeof props.version !== 'string' || semver.valid(props.version) === null) {
    problems.push(`version ${JSON.stringify(props.version)} must be a semantic version (like 1.4.0)`);
  }
  if (typeof props.build !== 'function') problems.push('build must be a function (app, values) => void');
  const files: unknown = props.files ?? [];
  if (!Array.isArray(files)) problems.push('files must be a list of paths relative to the package folder');
  else for (const file of files) problems.push(...[fileDeclarationProblem(file)].filter((p) => p !== undefined));
  const shape = (props.values ?? {}) as S;
  let schema: Record<string, unknown> = {};
  try {
    schema = valuesSchema(shape);
    const resolved = resolveValues({ schema });
    if (!resolved.ok) problems.push(...resolved.errors.map((e) => `a default does not satisfy its declaration: ${e.message}`));
  } catch (err) {
    if (!(err instanceof PackageDefinitionError)) throw err;
    problems.push(err.message);
  }
  const label = typeof props.name === 'string' ? `package ${props.name}` : 'package';
  if (problems.length > 0) throw new PackageDefinitionError(`${label}: ${problems.join('; ')}`);
  return Object.freeze({
    [PACKAGE]: true as const,
    name: props.name,
    version: props.version,
    ...(props.description !== undefined ? { description: props.description } : {}),
    values: shape,
    schema: Object.freeze(schema),
    files: Object.freeze([...(props.files ?? [])]),
    build: props.build,
  });
}

/** Whether `x` is a package made by {@link definePackage} (of any copy of the kit). */
export function isPackageDefinition(x: unknown): x is PackageDefinition {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PACKAGE] === true;
}

/** Whether a phase name is acceptable (a DNS-1123 label). */
export function isPhaseName(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}
