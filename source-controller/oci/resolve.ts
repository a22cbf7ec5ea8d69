/**
 * Resolving what to pull to a manifest digest with the cheapest call: one HEAD for
 * a tag or a digest; the tag list (then one HEAD) for a semver range. The result's
 * revision — `<tag>@sha256:<hex>`, or the digest alone — is what a source reports
 * and compares to decide whether anything changed.
 */
import { isDigest } from './digest.ts';
import { InvalidReferenceError } from './errors.ts';
import { headManifest } from './manifests.ts';
import { formatReference, isValidTag, type OciReference } from './reference.ts';
import { selectSemverTag, validateSemverRange } from './semver-tags.ts';
import { listTags } from './tags.ts';
import type { RegistryTransport } from './transport.ts';

/** Which manifest of a repository: `OCIRepository.spec.ref`. */
export type RefSelector = { readonly tag: string } | { readonly digest: string } | { readonly semver: string };

/** A resolved reference. */
export interface ResolvedReference {
  /** The repository with `digest` (and `tag` when resolved from one) set. */
  readonly reference: OciReference;
  readonly tag?: string;
  /** Manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  /** The manifest's media type (an index when the tag names a multi-platform image). */
  readonly mediaType: string;
  /** Manifest size in bytes (-1 when the registry did not say). */
  readonly size: number;
  /** `<tag>@<digest>`, or `<digest>` for a digest ref. */
  readonly revision: string;
}

/** Options for {@link resolveReference}. */
export interface ResolveOptions {
  readonly signal?: AbortSignal | undefined;
  /** Tags per page when listing for a semver range. */
  readonly pageSize?: number | undefined;
}

/** The revision string of a tag (optional) and a manifest digest. */
export function formatRevision(tag: string | undefined, digest: string): string {
  return tag === undefined ? digest : `${tag}@${digest}`;
}

/** The selector a CLI-style reference carries (`:tag` or `@digest`; the digest wins). */
export function selectorOf(ref: OciReference): RefSelector {
  if (ref.digest !== undefined) return { digest: ref.digest };
  if (ref.tag !== undefined) return { tag: ref.tag };
  throw new InvalidReferenceError(`${formatReference(ref)} names no tag or digest`);
}

/** Checks a selector's shape and values before any request. */
export function validateSelector(selector: RefSelector): void {
  const kinds = ['tag', 'digest', 'semver'].filter((k) => k in selector);
  if (kinds.length !== 1) throw new InvalidReferenceError(`a ref needs exactly one of tag, digest or semver (got ${kinds.join(', ') || 'none'})`);
  if ('tag' in selector && !isValidTag(selector.tag)) throw new InvalidReferenceError(`invalid tag ${JSON.stringify(selector.tag.slice(0, 200))}`);
  if ('digest' in selector && !isDigest(selector.digest)) throw new InvalidReferenceError(`invalid digest ${JSON.stringify(selector.digest.slice(0, 200))}`);
  if ('semver' in selector) validateSemverRange(selector.semver);
}

/** Resolves `selector` in `repo` to a manifest digest. */
export async function resolveReference(transport: RegistryTransport, repo: OciReference, selector: RefSelector,
  opts: ResolveOptions = {}): Promise<ResolvedReference> {
  validateSelector(selector);
  const bare: OciReference = { host: repo.host, repository: repo.repository };
  let tag: string | undefined;
  if ('digest' in selector) {
    const head = await headManifest(transport, bare, selector.digest, opts.signal);
    return { reference: { ...bare, digest: head.digest }, digest: head.digest, mediaType: head.mediaType, size: head.size, revision: head.digest };
  }
  if ('semver' in selector) {
    const tags = await listTags(transport, bare, { pageSize: opts.pageSize, signal: opts.signal });
    tag = selectSemverTag(tags, selector.semver, formatReference(bare)).tag;
  } else {
    tag = selector.tag;
  }
  const head = await headManifest(transport, bare, tag, opts.signal);
  return {
    reference: { ...bare, tag, digest: head.digest }, tag, digest: head.digest, mediaType: head.mediaType, size: head.size,
    revision: formatRevision(tag, head.digest),
  };
}
