/**
 * The first steps of a Package reconcile: its dependencies must be Ready at
 * their latest revision, and its source must have published an artifact.
 * Both only read; each failure says what the Package waits for.
 */
import { getCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import {
  gitRepositoryResource, ociRepositoryResource, type Artifact, type GitRepository, type OCIRepository,
} from '../../source-controller/api.ts';
import { packageResource, type Package } from '../api.ts';
import { PackageFailure } from './failure.ts';
import { crossNamespaceRefsForbidden, type TenancyFlags } from './settings.ts';

/** A source and the artifact it publishes. */
export interface ResolvedSource {
  readonly kind: 'GitRepository' | 'OCIRepository';
  readonly name: string;
  readonly namespace: string;
  readonly artifact: Artifact;
}

/** The source kinds a Package may reference, by kind. */
export const SOURCE_RESOURCES = {
  GitRepository: gitRepositoryResource,
  OCIRepository: ociRepositoryResource,
} as const;

type Source = GitRepository | OCIRepository;

/** What reading a source or a dependency takes: the client, or the controller's informers in front of it. */
export type ObjectReads = Pick<KubeClient, 'get'>;

/** `namespace/name` of the source a Package references (its own namespace by default). */
export function sourceKeyOf(pkg: Package): { kind: 'GitRepository' | 'OCIRepository'; namespace: string; name: string } {
  const ref = pkg.spec.sourceRef;
  return { kind: ref.kind, namespace: ref.namespace ?? pkg.metadata.namespace ?? '', name: ref.name };
}

/**
 * The artifact of the Package's source. Fails (stalling) on a cross-namespace
 * reference unless `--allow-cross-namespace-refs` allows them (checked before
 * the source is even read), and (retrying) when the source does not exist or
 * has no artifact yet.
 */
export async function resolveSource(client: ObjectReads, pkg: Package, flags: TenancyFlags): Promise<ResolvedSource> {
  const { kind, namespace, name } = sourceKeyOf(pkg);
  if (crossNamespaceRefsForbidden(flags) && namespace !== pkg.metadata.namespace) {
    throw new PackageFailure(undefined, 'CrossNamespaceRefNotAllowed',
      `spec.sourceRef: ${kind} ${namespace}/${name} is in another namespace, and this controller does not allow cross-namespace references (--allow-cross-namespace-refs)`, 'stall');
  }
  const resource = SOURCE_RESOURCES[kind];
  const source = await client.get<Source>({ apiVersion: resource.apiVersion, kind, namespace, name });
  if (!source) throw new PackageFailure(undefined, 'SourceNotFound', `${kind} ${namespace}/${name} does not exist`, 'retry');
  const artifact = source.status?.artifact;
  if (!artifact) {
    const ready = getCondition(source.status?.conditions, 'Ready');
    const why = ready && ready.status !== 'True' ? `: ${ready.message}` : '';
    throw new PackageFailure(undefined, 'ArtifactNotReady', `${kind} ${namespace}/${name} has no artifact yet${why}`, 'retry');
  }
  return { kind, namespace, name, artifact };
}

/** Why a dependency is not ready, or undefined when it is. */
function notReadyBecause(dep: Package, sourceRevision: string | undefined): string | undefined {
  const ready = getCondition(dep.status?.conditions, 'Ready');
  const generation = dep.metadata.generation;
  if (dep.status?.observedGeneration !== generation || ready?.observedGeneration !== generation) return 'it has not reconciled its latest spec yet';
  if (ready?.status !== 'True') return `it is not Ready${ready ? ` (${ready.reason}: ${ready.message})` : ''}`;
  if (sourceRevision !== undefined && dep.status?.lastAppliedRevision !== sourceRevision) {
    return `it has not applied its source's latest revision ${sourceRevision} yet`;
  }
  return undefined;
}

/**
 * Resolves when every `dependsOn` Package is Ready at the latest revision of
 * its source; otherwise fails (retrying soon) naming the first one it waits for.
 */
export async function checkDependencies(client: ObjectReads, pkg: Package, flags: TenancyFlags): Promise<void> {
  const own = pkg.metadata.namespace ?? '';
  for (const ref of pkg.spec.dependsOn ?? []) {
    const namespace = ref.namespace ?? own;
    const key = `${namespace}/${ref.name}`;
    if (namespace === own && ref.name === pkg.metadata.name) {
      throw new PackageFailure(undefined, 'InvalidSpec', 'spec.dependsOn names the Package itself', 'stall');
    }
    if (crossNamespaceRefsForbidden(flags) && namespace !== own) {
      throw new PackageFailure(undefined, 'CrossNamespaceRefNotAllowed',
        `spec.dependsOn: Package ${key} is in another namespace, and this controller does not allow cross-namespace references (--allow-cross-namespace-refs)`, 'stall');
    }
    const dep = await client.get<Package>({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name: ref.name });
    if (!dep) throw new PackageFailure(undefined, 'DependencyNotReady', `waiting for dependency ${key}: it does not exist`, 'dependency');
    let sourceRevision: string | undefined;
    try {
      const { kind, namespace: sns, name } = sourceKeyOf(dep);
      const source = await client.get<Source>({ apiVersion: SOURCE_RESOURCES[kind].apiVersion, kind, namespace: sns, name });
      sourceRevision = source?.status?.artifact?.revision;
    } catch {
      // The dependency's own Ready condition still answers.
    }
    const why = notReadyBecause(dep, sourceRevision);
    if (why) throw new PackageFailure(undefined, 'DependencyNotReady', `waiting for dependency ${key}: ${why}`, 'dependency');
  }
}
