/**
 * The source-controller's API, group `source.trellis.dev/v1alpha1`: GitRepository and
 * OCIRepository. Each kind is defined once here; its TypeScript types and its CRD
 * (`npm run crds` writes them to crds/) both come from these schemas.
 */
import {
  defineResource, s, SHA256_DIGEST_PATTERN, type CustomObject, type Infer, type Input,
} from '../runtime/schema.ts';
import { ConditionType } from '../runtime/conditions.ts';

/** The API group of the source kinds. */
export const SOURCE_GROUP = 'source.trellis.dev';
/** The version of the source kinds. */
export const SOURCE_VERSION = 'v1alpha1';

/**
 * Condition types the source kinds set, with their polarity. `Ready`,
 * `Reconciling` and `Stalled` follow kstatus; the others are abnormal-true: present
 * and True only while something is wrong, removed once it is fixed.
 */
export const SourceConditions = {
  /** Normal-true. True when the latest artifact for the spec is stored and served. */
  Ready: ConditionType.Ready,
  /** Abnormal-true (kstatus). True while the controller works toward a new artifact. */
  Reconciling: ConditionType.Reconciling,
  /** Abnormal-true (kstatus). True when only a change of the spec can make progress. */
  Stalled: ConditionType.Stalled,
  /** Abnormal-true. Resolving the ref or downloading from Git or the registry failed. */
  FetchFailed: ConditionType.FetchFailed,
  /** Abnormal-true. Packaging, storing or serving the artifact failed. */
  ArtifactFailed: ConditionType.ArtifactFailed,
  /** Abnormal-true (a source with `verify`). The signature did not verify; no artifact was stored for the revision. */
  VerificationFailed: ConditionType.VerificationFailed,
  /**
   * Normal-true (a source with `verify`). True when the published artifact's
   * revision was verified, False when the latest revision failed verification
   * (next to `VerificationFailed=True`); absent without `verify`.
   */
  SourceVerified: 'SourceVerified',
} as const;

/** A source condition type. */
export type SourceConditionType = (typeof SourceConditions)[keyof typeof SourceConditions];

/** A semver range as the `semver` package reads it (`^1.4`, `>=1.0.0 <2.0.0`, `1.x`). */
export const SEMVER_RANGE_PATTERN = '^[0-9A-Za-z*^~<>=|.+ -]*[0-9xX*][0-9A-Za-z*^~<>=|.+ -]*$';

/** A revision as sources publish it: `<name>@<algorithm>:<hex>`, or `<algorithm>:<hex>` alone. */
export const REVISION_PATTERN = '^([^@\\s]+@)?(sha1|sha256):[a-f0-9]{40,64}$';

const secretRef = (description: string) => s.object({
  name: s.objectName({ description: 'Name of the Secret, in the namespace of this object.' }),
}, { required: ['name'], description });

const semverRange = (description: string) => s.string({ pattern: SEMVER_RANGE_PATTERN, minLength: 1, maxLength: 256, description });

const interval = s.duration({ default: '5m', description: 'How often to look for a new revision.' });
const timeout = s.duration({ default: '60s', description: 'Time limit for one fetch (resolve, download, store).' });
const suspend = s.boolean({ default: false, description: 'When true the controller leaves this object alone.' });

/** `status.artifact`: what a source last stored and serves. */
export const artifactSchema = s.object({
  url: s.string({ description: 'Where the controller serves the artifact tarball (HTTP, inside the cluster).', minLength: 1 }),
  revision: s.string({ pattern: REVISION_PATTERN, description: 'Source revision: `main@sha1:<commit>` for Git, `1.4.0@sha256:<manifest digest>` for OCI.' }),
  digest: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'sha256 of the stored tarball.' }),
  size: s.integer({ minimum: 0, description: 'Size of the stored tarball in bytes.' }),
  lastUpdateTime: s.time({ description: 'When this artifact was stored.' }),
  metadata: s.map(s.string(), { description: 'Annotations of the source (OCI manifest annotations).' }),
}, { required: ['url', 'revision', 'digest', 'size', 'lastUpdateTime'], description: 'The artifact the controller last stored for this source.' });

/** A stored artifact. */
export type Artifact = Infer<typeof artifactSchema>;

/** The status both source kinds share. */
export const sourceStatusSchema = s.object({
  observedGeneration: s.integer({ minimum: 0, description: 'The .metadata.generation the status was computed for.' }),
  conditions: s.conditions(),
  artifact: artifactSchema,
  lastHandledReconcileAt: s.string({ description: 'The value of the reconcile.trellis.dev/requestedAt annotation last handled.' }),
}, { description: 'What the controller observed and did.' });

/** The status of a GitRepository or an OCIRepository. */
export type SourceStatus = Infer<typeof sourceStatusSchema>;

const sourceColumns = [
  { name: 'URL', type: 'string', jsonPath: '.spec.url', priority: 1 },
  { name: 'Revision', type: 'string', jsonPath: '.status.artifact.revision' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;

/** `GitRepository.spec`. */
export const gitRepositorySpecSchema = s.object({
  url: s.string({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'Repository URL, http:// or https://.' }),
  ref: s.oneOf({
    branch: s.string({ pattern: '^[^\\s~^:?*\\[\\\\]+$', maxLength: 255, description: 'Follow the head of this branch.' }),
    tag: s.string({ pattern: '^[^\\s~^:?*\\[\\\\]+$', maxLength: 255, description: 'Check out this tag.' }),
    semver: semverRange('Check out the highest tag that satisfies this semver range.'),
    commit: s.string({ pattern: '^([a-f0-9]{40}|[a-f0-9]{64})$', description: 'Check out this exact commit (full hash).' }),
  }, { description: 'What to check out: exactly one of branch, tag, semver or commit. Absent: the remote\'s default branch.' }),
  interval,
  timeout,
  secretRef: secretRef('Secret with `username` and `password`, or `bearerToken`, for HTTP authentication.'),
  verify: s.object({
    mode: s.enum(['HEAD', 'Tag', 'TagAndHEAD'], {
      default: 'HEAD',
      description: 'What must carry a good OpenPGP or SSH signature: the commit (`HEAD`), the annotated tag the ref names (`Tag`, with `ref.tag` or `ref.semver`), or both.',
    }),
    secretRef: secretRef('Secret whose values are armored OpenPGP public keys or SSH public key lines (any key name); a signature by any of them is accepted.'),
  }, { required: ['secretRef'], description: 'Verify the signature of the commit or tag before anything is stored: an unverified revision gets no artifact.' }),
  ignore: s.string({ description: 'Paths to leave out of the artifact, in .gitignore syntax (one pattern per line).' }),
  suspend,
}, { required: ['url'], description: 'Which Git repository to follow, and how.' });

/** The spec of a GitRepository as read from the apiserver. */
export type GitRepositorySpec = Infer<typeof gitRepositorySpecSchema>;
/** The spec of a GitRepository as a client writes it. */
export type GitRepositorySpecInput = Input<typeof gitRepositorySpecSchema>;
/** `GitRepository.spec.ref`: exactly one of branch, tag, semver, commit. */
export type GitRepositoryRef = NonNullable<GitRepositorySpec['ref']>;

/** The GitRepository kind: identity constants and CRD. */
export const gitRepositoryResource = defineResource({
  group: SOURCE_GROUP, version: SOURCE_VERSION, kind: 'GitRepository', plural: 'gitrepositories',
  shortNames: ['gitrepo'], categories: ['trellis'],
  description: 'GitRepository follows a Git repository and publishes its content as an artifact.',
  spec: gitRepositorySpecSchema, status: sourceStatusSchema, printerColumns: sourceColumns,
});

/** A GitRepository object. */
export type GitRepository = CustomObject<GitRepositorySpec, SourceStatus>;

/** `OCIRepository.spec`. */
export const ociRepositorySpecSchema = s.object({
  // The repository grammar of the OCI distribution spec: a tag or digest in the URL is rejected.
  url: s.string({
    pattern: '^oci://[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)+$', maxLength: 2048,
    description: 'Repository URL, `oci://host[:port]/path`, without tag or digest (those go in `ref`).',
  }),
  ref: s.oneOf({
    tag: s.string({ pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$', description: 'Follow this tag.' }),
    semver: semverRange('Follow the highest tag that satisfies this semver range.'),
    digest: s.string({ pattern: SHA256_DIGEST_PATTERN, description: 'Pin this manifest digest.' }),
  }, { description: 'What to pull: exactly one of tag, semver or digest. Absent: the tag `latest`.' }),
  interval,
  timeout,
  secretRef: secretRef('Secret of type kubernetes.io/dockerconfigjson with registry credentials.'),
  certSecretRef: secretRef('Secret with `ca.crt`, the CA that signed the registry\'s TLS certificate.'),
  insecure: s.boolean({ default: false, description: 'Talk plain HTTP to the registry.' }),
  layerSelector: s.object({
    mediaType: s.string({ minLength: 1, description: 'Media type of the layer to use; default: the Trellis content layer, else the first tar+gzip layer.' }),
    operation: s.enum(['extract', 'copy'], { default: 'extract', description: '`extract` unpacks the tar+gzip layer; `copy` stores it as it is.' }),
  }, { description: 'Which layer of the manifest holds the content.' }),
  verify: s.object({
    provider: s.enum(['cosign'], { default: 'cosign', description: 'Signature format.' }),
    secretRef: secretRef('Secret holding the cosign public keys (`*.pub`).'),
  }, { required: ['secretRef'], description: 'Verify the signature of the manifest before anything is downloaded.' }),
  suspend,
}, { required: ['url'], description: 'Which OCI repository to follow, and how.' });

/** The spec of an OCIRepository as read from the apiserver. */
export type OCIRepositorySpec = Infer<typeof ociRepositorySpecSchema>;
/** The spec of an OCIRepository as a client writes it. */
export type OCIRepositorySpecInput = Input<typeof ociRepositorySpecSchema>;
/** `OCIRepository.spec.ref`: exactly one of tag, semver, digest. */
export type OCIRepositoryRef = NonNullable<OCIRepositorySpec['ref']>;

/** The OCIRepository kind: identity constants and CRD. */
export const ociRepositoryResource = defineResource({
  group: SOURCE_GROUP, version: SOURCE_VERSION, kind: 'OCIRepository', plural: 'ocirepositories',
  shortNames: ['ocirepo'], categories: ['trellis'],
  description: 'OCIRepository follows an OCI artifact in a registry and publishes its content as an artifact.',
  spec: ociRepositorySpecSchema, status: sourceStatusSchema, printerColumns: sourceColumns,
});

/** An OCIRepository object. */
export type OCIRepository = CustomObject<OCIRepositorySpec, SourceStatus>;

/** Group, version and kind of GitRepository. */
export const gitRepositoryGVK = gitRepositoryResource.gvk;
/** Group, version and kind of OCIRepository. */
export const ociRepositoryGVK = ociRepositoryResource.gvk;
