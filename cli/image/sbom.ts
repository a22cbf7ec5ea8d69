/**
 * The image's software bill of materials as an SPDX 2.3 JSON document: the image
 * itself, every Debian package, the Node binary, every npm package and the Trellis
 * application, each with its version, declared licence and package URL. Built
 * from what the build put in the layers, so it lists exactly what runs.
 */

/** One component of the image. */
export interface SbomComponent {
  /** `deb`, `npm`, `generic` (the Node binary) or `trellis` (the application). */
  readonly kind: 'deb' | 'npm' | 'generic' | 'trellis';
  readonly name: string;
  readonly version: string;
  /** An SPDX licence expression, or NOASSERTION. */
  readonly license: string;
  /** Package URL (purl). */
  readonly purl: string;
  readonly comment?: string;
}

/** What the SBOM describes. */
export interface SbomInput {
  /** The image manifest digest (the document namespace is derived from it). */
  readonly imageDigest: string;
  readonly imageName: string;
  readonly imageVersion: string;
  /** ISO 8601 creation time (the build's SOURCE_DATE_EPOCH). */
  readonly created: string;
  readonly components: readonly SbomComponent[];
}

/** Debian releases by suite name, for the purl's `distro` qualifier. */
const DEBIAN_RELEASES: Readonly<Record<string, string>> = { bookworm: '12', trixie: '13', forky: '14' };

/**
 * The purl `distro` of a package from `suite`: `debian-<release>`, or the suite
 * name itself when its release number is not known here (purl allows either).
 * Without a suite, the machine's own lists: Debian 12, which the image is built on.
 */
export function debianDistro(suite?: string): string {
  if (suite === undefined) return 'debian-12';
  const release = DEBIAN_RELEASES[suite];
  return release !== undefined ? `debian-${release}` : suite;
}

/** purl of a Debian binary package (`suite` absent: the machine's own Debian 12 lists). */
export function debianPurl(name: string, version: string, arch: string, suite?: string): string {
  return `pkg:deb/debian/${encodeURIComponent(name)}@${encodeURIComponent(version)}?arch=${arch}&distro=${encodeURIComponent(debianDistro(suite))}`;
}

/** purl of an npm package (`@scope/name` becomes `%40scope/name`). */
export function npmPurl(name: string, version: string): string {
  const [scope, bare] = name.startsWith('@') ? name.split('/') as [string, string] : [undefined, name];
  return `pkg:npm/${scope !== undefined ? `${encodeURIComponent(scope)}/` : ''}${encodeURIComponent(bare)}@${encodeURIComponent(version)}`;
}

function spdxId(component: SbomComponent, index: number): string {
  return `SPDXRef-${component.kind}-${component.name.replace(/[^A-Za-z0-9.-]/g, '-')}-${index}`;
}

/** The SPDX 2.3 document as bytes (stable key order, components in the order given). */
export function buildSpdxSbom(input: SbomInput): Uint8Array {
  const imageId = 'SPDXRef-image';
  const packages = input.components.map((c, i) => ({
    SPDXID: spdxId(c, i),
    name: c.name,
    versionInfo: c.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: c.license,
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }],
    ...(c.comment !== undefined ? { comment: c.comment } : {}),
  }));
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.imageName}:${input.imageVersion}`,
    documentNamespace: `https://trellis.dev/spdx/image/${input.imageDigest.replace(':', '-')}`,
    creationInfo: { created: input.created, creators: ['Tool: trellis-image-build'] },
    packages: [
      {
        SPDXID: imageId, name: input.imageName, versionInfo: input.imageVersion, downloadLocation: 'NOASSERTION',
        filesAnalyzed: false, licenseConcluded: 'NOASSERTION', licenseDeclared: 'NOASSERTION', copyrightText: 'NOASSERTION',
        checksums: [{ algorithm: 'SHA256', checksumValue: input.imageDigest.replace(/^sha256:/, '') }],
        primaryPackagePurpose: 'CONTAINER',
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}
