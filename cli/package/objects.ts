/**
 * The two objects `kubectl package install` writes — an OCIRepository that
 * follows the package in its registry and a Package that applies it — and the
 * labels that say `install` made them (so `uninstall` removes the source only
 * when install created it). Pure: building, not writing.
 */
import { isIP } from 'node:net';
import { packageResource, type Package, type PackageSpecInput, type Values } from '../../apply-controller/index.ts';
import {
  ociRepositoryResource, parseReference, type OCIRepository, type OCIRepositorySpecInput, type OciReference,
} from '../../source-controller/index.ts';
import { CliError } from './errors.ts';

/** The field manager of everything `kubectl package` writes. */
export const FIELD_MANAGER = 'kubectl-package';
/** Label on objects `kubectl package install` created. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Label on an OCIRepository `install` created: the Package it was created for. */
export const INSTALLED_FOR_LABEL = 'apply.trellis.dev/installed-for';

/** Which manifest of the repository to follow (`--version`, `--tag`, `--digest`). */
export type InstallRef = { readonly semver: string } | { readonly tag: string } | { readonly digest: string };

/** Everything `install` turns into objects. */
export interface InstallSpec {
  readonly name: string;
  readonly namespace: string;
  /** `oci://host/repo` (a `:tag` or `@digest` in it becomes the ref when no flag gives one). */
  readonly url: string;
  readonly ref?: InstallRef | undefined;
  readonly values?: Values | undefined;
  readonly serviceAccountName?: string | undefined;
  /** Plain HTTP; undefined: plain HTTP for loopback registries only (as Docker does). */
  readonly insecure?: boolean | undefined;
  /** How often the source looks for a new version (`--interval`). */
  readonly interval?: string | undefined;
  /** Folder inside the artifact (`--path`). */
  readonly path?: string | undefined;
  readonly targetNamespace?: string | undefined;
}

/** The objects of an install, in the order they are written. */
export interface InstallObjects {
  readonly source: OCIRepository;
  readonly package: Package;
  /** The repository, parsed. */
  readonly repository: OciReference;
  /** The ref the source follows. */
  readonly ref: InstallRef | undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost']);

/** True for `localhost`, `127.x.y.z` and `[::1]` hosts (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (LOOPBACK_NAMES.has(bare.toLowerCase())) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a Package name: the OCIRepository and the PackageRevisions (`<name>-<n>`) are named after it. */
export function checkPackageName(name: string): void {
  if (!NAME.test(name) || name.length > 53) {
    throw new CliError(`invalid package name "${name}": use lower-case letters, digits and "-" (at most 53 characters, starting and ending with a letter or digit)`);
  }
}

/** The ref the URL's own `:tag`/`@digest` gives, or the flag's; both at once is an error. */
function refOf(url: OciReference, flag: InstallRef | undefined): InstallRef | undefined {
  const fromUrl: InstallRef | undefined = url.digest !== undefined ? { digest: url.digest }
    : url.tag !== undefined ? { tag: url.tag } : undefined;
  if (fromUrl && flag) throw new CliError('give the version either in the URL (:tag or @digest) or with --version/--tag/--digest, not both');
  return flag ?? fromUrl;
}

/** Builds the OCIRepository and the Package for an install. Throws CliError for bad input. */
export function installObjects(spec: InstallSpec): InstallObjects {
  checkPackageName(spec.name);
  let repository: OciReference;
  try {
    repository = parseReference(spec.url);
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const ref = refOf(repository, spec.ref);
  const bare: OciReference = { host: repository.host, repository: repository.repository };
  const insecure = spec.insecure ?? isLoopbackHost(bare.host);
  const labels = { [MANAGED_BY_LABEL]: FIELD_MANAGER };
  const sourceSpec: OCIRepositorySpecInput = {
    url: `oci://${bare.host}/${bare.repository}`,
    ...(ref ? { ref } : {}),
    ...(insecure ? { insecure: true } : {}),
    ...(spec.interval ? { interval: spec.interval } : {}),
  };
  const source = {
    apiVersion: ociRepositoryResource.apiVersion,
    kind: ociRepositoryResource.kind,
    metadata: { name: spec.name, namespace: spec.namespace, labels: { ...labels, [INSTALLED_FOR_LABEL]: spec.name } },
    spec: sourceSpec,
  } as OCIRepository;
  const packageSpec: PackageSpecInput = {
    sourceRef: { kind: 'OCIRepository', name: spec.name },
    ...(spec.path ? { path: spec.path } : {}),
    ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
    ...(spec.targetNamespace ? { targetNamespace: spec.targetNamespace } : {}),
    ...(spec.values && Object.keys(spec.values).length > 0 ? { values: spec.values } : {}),
  };
  const pkg = {
    apiVersion: packageResource.apiVersion,
    kind: packageResource.kind,
    metadata: { name: spec.name, namespace: spec.namespace, labels },
    spec: packageSpec,
  } as Package;
  return { source, package: pkg, repository: bare, ref };
}

/** True when `install` created this source for the Package `packageName`. */
export function createdByInstall(source: OCIRepository | undefined, packageName: string): boolean {
  const labels = source?.metadata.labels ?? {};
  return labels[MANAGED_BY_LABEL] === FIELD_MANAGER && labels[INSTALLED_FOR_LABEL] === packageName;
}
