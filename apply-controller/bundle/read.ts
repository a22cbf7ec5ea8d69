/**
 * From an unpacked artifact to the validated, ordered objects of one revision:
 * load -> values -> placements -> namespaces -> validate -> order. Nothing here
 * talks to the cluster; what the cluster knows (which kinds it serves) comes in as
 * a function. Every step runs as far as it can, so one call reports every problem.
 */
import { posix } from 'node:path';
import { renderBundleProgram, stringLeaves } from '../program/index.ts';
import type { PackageManifest } from './format.ts';
import { loadBundle, type LoadBundleOptions } from './load.ts';
import { applyNamespaces } from './namespace.ts';
import type { BundleObject, KubeObject, SourcedObject } from './object.ts';
import { objectId } from './object-id.ts';
import { orderStages, type Stage } from './order.ts';
import { applyPlacements } from './placements.ts';
import { problem, type BundleProblem } from './problems.ts';
import { clusterKinds, findBundleCRDs, scopeResolver, type IsNamespaced } from './scope.ts';
import { validateObjects } from './validate.ts';
import type { SkippedFile } from './walk.ts';
import { resolveValues, valuesHash, type Values } from './values.ts';

/** Options for {@link readBundle}. */
export interface ReadBundleOptions extends LoadBundleOptions {
  /** Which kinds the cluster serves and their scope (API discovery, or `builtinIsNamespaced` offline). */
  readonly isNamespaced: IsNamespaced;
  /**
   * Called once with the kinds {@link isNamespaced} will be asked about (those no
   * CRD in the bundle defines), before it is asked: a reconciler looks up the ones
   * it does not know yet, so the bundle is read only once.
   */
  readonly lookUpKinds?: (kinds: readonly (readonly [apiVersion: string, kind: string])[]) => Promise<void>;
  /** `spec.values`. */
  readonly values?: Values;
  /** The maps of `spec.valuesFrom`, already read, in order. */
  readonly valuesFrom?: readonly Values[];
  /** `spec.targetNamespace`. */
  readonly targetNamespace?: string;
  /** Namespace for namespaced objects that name none (the Package's namespace). */
  readonly defaultNamespace?: string;
  /** Refuse objects outside this namespace and cluster-scoped objects. */
  readonly restrictToNamespace?: string;
}

/** A bundle ready to apply. */
export interface ReadBundleSuccess {
  readonly ok: true;
  /** `trellis` (package.yaml) or `plain` (a folder of manifests). */
  readonly format: 'trellis' | 'plain';
  /** The package manifest; undefined for a plain folder. */
  readonly manifest?: PackageManifest;
  /** The resolved values (defaults filled in); `{}` for a plain folder. */
  readonly values: Values;
  /** `sha256:<hex>` of the canonical JSON of {@link values}. */
  readonly valuesHash: string;
  /** Every object in bundle order (files by path, then documents). */
  readonly objects: readonly BundleObject[];
  /** The objects in apply order, see order.ts for the rule. */
  readonly phases: readonly Stage[];
  /** Files and folders left out because they are not Kubernetes objects (or are ignored), with why. */
  readonly skipped: readonly SkippedFile[];
  /** The kustomization files rendered with kustomize. */
  readonly rendered: readonly string[];
}

/** A bundle that must not be applied, with everything wrong with it. */
export interface ReadBundleFailure {
  readonly ok: false;
  readonly errors: readonly BundleProblem[];
}

/** The outcome of {@link readBundle}. */
export type ReadBundleResult = ReadBundleSuccess | ReadBundleFailure;

/**
 * Reads, resolves, validates and orders the bundle at `<dir>/<opts.path>`.
 * Throws only for I/O errors other than missing files; everything wrong with the
 * bundle itself comes back as `{ok: false, errors}`.
 */
export async function readBundle(dir: string, opts: ReadBundleOptions): Promise<ReadBundleResult> {
  const loaded = await loadBundle(dir, opts);
  const problems: BundleProblem[] = [...loaded.errors];
  let objects: readonly SourcedObject[] = loaded.objects;
  let manifest = loaded.manifest;
  let values: Values = {};

  const given = opts.values !== undefined && Object.keys(opts.values).length > 0
    || (opts.valuesFrom ?? []).some((v) => Object.keys(v).length > 0);
  if (loaded.manifest) {
    const resolved = resolveValues({
      schema: loaded.manifest.values.schema,
      ...(opts.valuesFrom ? { valuesFrom: opts.valuesFrom } : {}),
      ...(opts.values ? { values: opts.values } : {}),
    });
    if (!resolved.ok) {
      problems.push(...resolved.errors);
    } else {
      values = resolved.values;
      if (loaded.manifest.program) {
        // A program bundle: its objects are the program's render with these values, not the files.
        const sensitive = [opts.values, ...(opts.valuesFrom ?? [])].flatMap((v) => stringLeaves(v));
        const rendered = await renderBundleProgram(dir, posix.normalize((opts.path ?? '.').replace(/^\/+/, '') || '.'), loaded.manifest, values, { sensitive });
        if (rendered.ok) ({ objects, manifest } = rendered);
        else problems.push(...rendered.errors);
      } else {
        const placed = applyPlacements(objects, loaded.manifest.values.placements, values, { manifestsDir: loaded.manifestsDir });
        if (placed.ok) objects = placed.objects;
        else problems.push(...placed.errors);
      }
    }
  } else if (loaded.format === 'plain' && given) {
    problems.push(problem('InvalidValues', `values are set, but the bundle is ${loaded.rendered.length > 0 ? 'a kustomization' : 'a plain folder of manifests'} (values need a package.yaml that declares them)`));
  }

  const crds = findBundleCRDs(objects);
  if (opts.lookUpKinds) await opts.lookUpKinds(clusterKinds(objects, crds));
  const scopeOf = scopeResolver(opts.isNamespaced, crds);
  objects = applyNamespaces(objects, {
    scopeOf,
    ...(opts.targetNamespace === undefined ? {} : { targetNamespace: opts.targetNamespace }),
    ...(opts.defaultNamespace === undefined ? {} : { defaultNamespace: opts.defaultNamespace }),
  });
  // A Trellis bundle whose package.yaml is invalid has unknown phases: its phase
  // annotations cannot be judged, and the manifest problem is already reported.
  const manifestBroken = loaded.format === 'trellis' && !loaded.manifest;
  problems.push(...validateObjects(objects, {
    scopeOf,
    ...(manifest ? { phases: manifest.phases } : {}),
    ...(manifestBroken ? { phasesUnknown: true } : {}),
    ...(opts.restrictToNamespace === undefined ? {} : { restrictToNamespace: opts.restrictToNamespace }),
  }));
  if (problems.length > 0) return { ok: false, errors: problems };

  const bundleObjects: BundleObject[] = objects.map(({ object, source }) => {
    const kube = object as KubeObject;
    return { id: objectId(kube), object: kube, source };
  });
  return {
    ok: true,
    format: loaded.format,
    ...(manifest ? { manifest } : {}),
    values,
    valuesHash: valuesHash(values),
    objects: bundleObjects,
    phases: orderStages(bundleObjects, manifest?.phases ?? []),
    skipped: loaded.skipped,
    rendered: loaded.rendered,
  };
}
