/**
 * The Trellis package manifest, `package.yaml` at the root of a bundle. The cdk8s
 * kit writes it, `trellis build` validates it, the apply controller reads it; the
 * format is described for people in docs/bundle-format.md.
 *
 * ```yaml
 * apiVersion: apply.trellis.dev/v1alpha1
 * kind: PackageManifest
 * name: web
 * version: 1.4.0
 * phases: [crds, infra, apps]          # applied in this order
 * manifests: manifests                  # the folder with the YAML/JSON manifests
 * values:
 *   schema:                             # JSON Schema (2020-12 unless $schema says draft-07)
 *     type: object
 *     properties:
 *       replicas: {type: integer, minimum: 0, default: 2}
 *       tag: {type: string, default: "1.25"}
 *   placements:
 *     - value: /replicas                # JSON pointer into the values
 *       file: web.yaml                  # relative to the manifests folder
 *       object: {kind: Deployment, name: web}
 *       path: /spec/replicas            # JSON pointer into the object; must exist
 *     - value: /tag
 *       file: web.yaml
 *       object: {apiVersion: apps/v1, kind: Deployment, name: web}
 *       path: /spec/template/spec/containers/0/image
 *       template: nginx:${value}        # the value stringified into a string
 * healthChecks:                         # user-defined health (CEL over `object`), see health/checks.ts
 *   - apiVersion: example.com/v1
 *     kind: Database
 *     current: object.status.phase == "Ready"
 *     failed: object.status.phase == "Failed"
 *     message: '"phase " + object.status.phase'
 * ```
 */
import { posix } from 'node:path';
import semver from 'semver';
import { compileHealthCheck, MAX_HEALTH_CHECKS, type HealthCheckSpec } from '../health/checks.ts';
import { isPlainObject } from './object.ts';
import { isPointer } from './pointer.ts';
import { compileSchema, formatSchemaErrors, InvalidSchemaError, VALUES_SCHEMA_OPTIONS } from './schema.ts';
import { problem, type BundleProblem } from './problems.ts';

/** `apiVersion` of a package manifest. */
export const PACKAGE_MANIFEST_API_VERSION = 'apply.trellis.dev/v1alpha1';
/** `kind` of a package manifest. */
export const PACKAGE_MANIFEST_KIND = 'PackageManifest';
/** The package manifest's file name at the root of a bundle. */
export const PACKAGE_MANIFEST_FILE = 'package.yaml';
/** The manifests folder when `manifests` is not set. */
export const DEFAULT_MANIFESTS_DIR = 'manifests';
/** The annotation by which an object names its phase. */
export const PHASE_ANNOTATION = 'apply.trellis.dev/phase';
/**
 * The phase of objects without a phase annotation. It runs last unless
 * `phases` lists it somewhere else.
 */
export const DEFAULT_PHASE = 'default';
/** The placeholder a placement's `template` replaces with the value. */
export const TEMPLATE_PLACEHOLDER = '${value}';

/** Which object in a manifest file a placement writes into. */
export interface PlacementTarget {
  /** Compared only when set. */
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  /** The namespace as written in the manifest (before targetNamespace); compared only when set. */
  readonly namespace?: string;
}

/** Where one value lands in the manifests. */
export interface Placement {
  /** JSON pointer into the values, e.g. `/replicas` or `/image/tag`. */
  readonly value: string;
  /** The manifest file, relative to the manifests folder, with `/` separators. */
  readonly file: string;
  /** The object in that file (exactly one object must match). */
  readonly object: PlacementTarget;
  /** JSON pointer into the object, e.g. `/spec/replicas`; the build wrote the default there. */
  readonly path: string;
  /**
   * For a value used inside a string: the string with `${value}` where the value
   * goes, e.g. `registry.example/web:${value}`. Without it the value replaces the
   * target as is, keeping its JSON type.
   */
  readonly template?: string;
}

/** The values a package accepts and where they land. */
export interface PackageValues {
  /** JSON Schema of the values object, with `default`s; draft 2020-12 unless `$schema` names draft-07 or 2019-09. */
  readonly schema: Record<string, unknown>;
  readonly placements: readonly Placement[];
}

/**
 * A program bundle's compiled program: the manifests are rendered at install time
 * by running it with the values (apply-controller/program/), and the manifests
 * folder holds its output for the defaults, for review.
 */
export interface PackageProgram {
  /** The JavaScript file, relative to package.yaml. */
  readonly file: string;
  /** `sha256:<hex>` of the file; checked before it runs. */
  readonly digest: string;
}

/** `package.yaml`: what a Trellis bundle is and how to apply it. */
export interface PackageManifest {
  readonly apiVersion: typeof PACKAGE_MANIFEST_API_VERSION;
  readonly kind: typeof PACKAGE_MANIFEST_KIND;
  /** The package name, a DNS-1123 label. */
  readonly name: string;
  /** The package version, semver (`1.4.0`, `2.0.0-rc.1`). */
  readonly version: string;
  readonly description?: string;
  /** Phase names (DNS-1123 labels), in apply order. */
  readonly phases: readonly string[];
  /** The manifests folder, relative to package.yaml; default `manifests`. */
  readonly manifests: string;
  readonly values: PackageValues;
  /**
   * User-defined health checks for the package's kinds (CEL over `object`); a
   * Package's `spec.healthChecks` and an object's own annotations override them.
   */
  readonly healthChecks?: readonly HealthCheckSpec[];
  /** Set for a program bundle: the objects come from running it with the values. */
  readonly program?: PackageProgram;
}

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const pointerSchema = { type: 'string', pattern: '^(/.*)?$' };

const expressionSchema = { type: 'string', minLength: 1 };

/** `currentWhen` / `failedWhen`: conditions and field equalities (health/when.ts). */
const whenSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    conditions: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['type', 'status'],
        properties: { type: { type: 'string', minLength: 1 }, status: { type: 'string', minLength: 1 }, reason: { type: 'string' } },
      },
    },
    fields: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['path', 'equals'],
        properties: { path: { type: 'string', minLength: 1 }, equals: { type: 'string' } },
      },
    },
  },
};

/** One entry of `healthChecks` (the expressions are compiled by validatePackageManifest). */
const healthCheckSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    apiVersion: { type: 'string', minLength: 1 },
    group: { type: 'string' },
    kind: { type: 'string', minLength: 1 },
    name: { type: 'string', minLength: 1 },
    current: expressionSchema,
    currentWhen: whenSchema,
    failed: expressionSchema,
    failedWhen: whenSchema,
    message: expressionSchema,
  },
};

/** The JSON Schema of package.yaml itself (draft-07). */
export const packageManifestSchema: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'name', 'version'],
  properties: {
    apiVersion: { const: PACKAGE_MANIFEST_API_VERSION },
    kind: { const: PACKAGE_MANIFEST_KIND },
    name: { type: 'string', maxLength: 63, pattern: DNS_LABEL },
    version: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    phases: { type: 'array', uniqueItems: true, items: { type: 'string', maxLength: 63, pattern: DNS_LABEL } },
    manifests: { type: 'string', minLength: 1 },
    values: {
      type: 'object',
      additionalProperties: false,
      properties: {
        schema: { type: 'object' },
        placements: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['value', 'file', 'object', 'path'],
            properties: {
              value: pointerSchema,
              file: { type: 'string', minLength: 1 },
              object: {
                type: 'object',
                additionalProperties: false,
                required: ['kind', 'name'],
                properties: {
                  apiVersion: { type: 'string', minLength: 1 },
                  kind: { type: 'string', minLength: 1 },
                  name: { type: 'string', minLength: 1 },
                  namespace: { type: 'string', minLength: 1 },
                },
              },
              path: { type: 'string', pattern: '^/' },
              template: { type: 'string' },
            },
          },
        },
      },
    },
    healthChecks: { type: 'array', maxItems: MAX_HEALTH_CHECKS, items: healthCheckSchema },
    program: {
      type: 'object', additionalProperties: false, required: ['file', 'digest'],
      properties: { file: { type: 'string', minLength: 1 }, digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } },
    },
  },
};

let manifestValidator: ReturnType<typeof compileSchema> | undefined;

/** The outcome of {@link validatePackageManifest}. */
export type PackageManifestResult =
  | { readonly ok: true; readonly manifest: PackageManifest }
  | { readonly ok: false; readonly errors: readonly BundleProblem[] };

/**
 * Checks a parsed package.yaml and fills in its defaults (`phases: []`,
 * `manifests: manifests`, an empty values schema). Reports every problem:
 * schema violations, a version that is not semver, a manifests folder outside the
 * bundle, a values schema that does not compile, placements with malformed
 * pointers or templates without `${value}`, health check expressions that do not
 * compile. `file` names package.yaml in messages.
 */
export function validatePackageManifest(data: unknown, file = PACKAGE_MANIFEST_FILE): PackageManifestResult {
  manifestValidator ??= compileSchema(packageManifestSchema);
  const fail = (detail: string): BundleProblem => problem('InvalidPackageManifest', detail, { file });
  const problems: BundleProblem[] = [];
  if (!manifestValidator(data)) {
    const labelRule = `must match pattern "${DNS_LABEL}"`;
    problems.push(...formatSchemaErrors(manifestValidator.errors, '', true)
      .map((line) => line.replace(labelRule, 'must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)'))
      .map(fail));
  }
  if (!isPlainObject(data)) return { ok: false, errors: problems };
  // The checks a schema cannot express run on whatever is well-typed, so one
  // pass reports every problem of the file.
  problems.push(...semanticProblems(data).map(fail));
  if (problems.length > 0) return { ok: false, errors: problems };
  const raw = data as {
    name: string; version: string; description?: string; phases?: string[]; manifests?: string;
    values?: { schema?: Record<string, unknown>; placements?: Placement[] };
    healthChecks?: HealthCheckSpec[];
    program?: PackageProgram;
  };
  const manifest: PackageManifest = {
    apiVersion: PACKAGE_MANIFEST_API_VERSION,
    kind: PACKAGE_MANIFEST_KIND,
    name: raw.name,
    version: raw.version,
    ...(raw.description === undefined ? {} : { description: raw.description }),
    phases: raw.phases ?? [],
    manifests: cleanRelative(raw.manifests ?? DEFAULT_MANIFESTS_DIR) ?? DEFAULT_MANIFESTS_DIR,
    values: {
      schema: raw.values?.schema ?? { type: 'object' },
      placements: (raw.values?.placements ?? []).map((p) => ({ ...p, file: cleanRelative(p.file) ?? p.file })),
    },
    ...(raw.healthChecks === undefined ? {} : { healthChecks: raw.healthChecks }),
    ...(raw.program === undefined ? {} : { program: { file: cleanRelative(raw.program.file) ?? raw.program.file, digest: raw.program.digest } }),
  };
  return { ok: true, manifest };
}

/** A relative path without `.`/`..` segments, or undefined when it leaves its folder. */
function cleanRelative(path: string): string | undefined {
  if (path.includes('\\') || path.startsWith('/')) return undefined;
  const clean = posix.normalize(path).replace(/\/+$/, '');
  return clean === '..' || clean.startsWith('../') ? undefined : clean;
}

function semanticProblems(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof data.version === 'string' && semver.valid(data.version) === null) {
    out.push(`version "${data.version}" is not a semantic version (like 1.4.0)`);
  }
  if (typeof data.manifests === 'string' && cleanRelative(data.manifests) === undefined) {
    out.push(`manifests "${data.manifests}" must be a folder inside the bundle`);
  }
  const values = isPlainObject(data.values) ? data.values : {};
  if (isPlainObject(values.schema)) {
    try {
      compileSchema(values.schema, VALUES_SCHEMA_OPTIONS);
    } catch (err) {
      out.push(`values.schema is not a valid JSON Schema: ${err instanceof InvalidSchemaError ? err.message : String(err)}`);
    }
  }
  const placements = Array.isArray(values.placements) ? values.placements : [];
  placements.forEach((p: unknown, i) => {
    if (!isPlainObject(p)) return;
    const at = `values.placements[${i}]`;
    if (typeof p.value === 'string' && !isPointer(p.value)) out.push(`${at}.value "${p.value}" is not a JSON pointer`);
    if (typeof p.path === 'string' && !isPointer(p.path)) out.push(`${at}.path "${p.path}" is not a JSON pointer`);
    if (typeof p.template === 'string' && !p.template.includes(TEMPLATE_PLACEHOLDER)) {
      out.push(`${at}.template must contain ${TEMPLATE_PLACEHOLDER}`);
    }
    if (typeof p.file === 'string' && cleanRelative(p.file) === undefined) {
      out.push(`${at}.file "${p.file}" must be inside the manifests folder`);
    }
  });
  if (isPlainObject(data.program) && typeof data.program.file === 'string' && cleanRelative(data.program.file) === undefined) {
    out.push(`program.file "${data.program.file}" must be inside the bundle`);
  }
  out.push(...healthCheckProblems(data.healthChecks));
  return out;
}

/**
 * What is wrong with the expressions of `healthChecks` (entries the schema
 * refuses for their shape are left to its messages).
 */
function healthCheckProblems(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const problems: string[] = [];
  value.forEach((entry: unknown, i) => {
    if (!isPlainObject(entry) || typeof entry.kind !== 'string') return;
    compileHealthCheck(entry as unknown as HealthCheckSpec, `healthChecks[${i}]`, problems);
  });
  return problems;
}
