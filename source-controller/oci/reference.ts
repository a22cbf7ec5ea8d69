/**
 * OCI references: `oci://host[:port]/repo[/more][:tag][@sha256:<hex>]`.
 * The grammar follows the distribution spec (lowercase path components separated
 * by `.`, `_`, `__` or dashes; tags of at most 128 word characters, dots and dashes).
 * Credentials in the URL are refused, and the refusal does not echo them.
 */
import { digestAlgorithm } from './digest.ts';
import { InvalidReferenceError } from './errors.ts';

/** A parsed reference. `tag` and `digest` are absent for a bare repository URL. */
export interface OciReference {
  /** Registry host with optional port, lowercased: `registry.example.com`, `127.0.0.1:5000`, `[::1]:5000`. */
  readonly host: string;
  /** Repository path: `team/web`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<hex>`; when both tag and digest are given, the digest is what is pulled. */
  readonly digest?: string;
}

/** Options for {@link parseReference}. */
export interface ParseReferenceOptions {
  /** Allow `:tag` and `@digest` after the repository (the CLI does; `OCIRepository.spec.url` does not). Default true. */
  readonly allowTagOrDigest?: boolean;
}

const SCHEME = 'oci://';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::([0-9]{1,5}))?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const MAX_REPOSITORY_LENGTH = 255;

/** Parses `oci://host/repo[:tag][@digest]`; throws {@link InvalidReferenceError} with the reason. */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): OciReference {
  const allowTagOrDigest = opts.allowTagOrDigest ?? true;
  if (!input.startsWith(SCHEME)) {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": it must start with ${SCHEME} (for example oci://registry.example.com/team/web)`);
  }
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const hostPart = slash < 0 ? rest : rest.slice(0, slash);
  if (hostPart.includes('@')) {
    throw new InvalidReferenceError('invalid OCI reference: credentials must not be part of the URL (oci://[REDACTED]@...); use a secret');
  }
  const host = validateHost(hostPart, input);
  if (slash < 0 || slash === rest.length - 1) {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": a repository path is required after the host`);
  }
  let path = rest.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = path.indexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    validateDigest(digest, input);
  }
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    validateTag(tag, input);
  }
  validateRepository(path, input);
  if (!allowTagOrDigest && (tag !== undefined || digest !== undefined)) {
    throw new InvalidReferenceError(`invalid repository URL "${shown(input)}": give the tag, semver range or digest in the ref, not in the URL`);
  }
  return { host, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `host/repo[:tag][@digest]`, the usual short form for messages. */
export function formatReference(ref: OciReference): string {
  return `${ref.host}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `oci://host/repo[:tag][@digest]`. */
export function referenceUrl(ref: OciReference): string {
  return `${SCHEME}${formatReference(ref)}`;
}

/** The same repository with only `tag` set. */
export function withTag(ref: OciReference, tag: string): OciReference {
  validateTag(tag, tag);
  return { host: ref.host, repository: ref.repository, tag };
}

/** The same repository with only `digest` set. */
export function withDigest(ref: OciReference, digest: string): OciReference {
  validateDigest(digest, digest);
  return { host: ref.host, repository: ref.repository, digest };
}

/** True when `tag` is a valid OCI tag. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

function validateHost(host: string, input: string): string {
  const m = HOST_RE.exec(host);
  if (!m) throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": "${shown(host)}" is not a valid registry host`);
  const port = m[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": port ${port} is out of range`);
  }
  return host.toLowerCase();
}

function validateRepository(path: string, input: string): void {
  if (path.length > MAX_REPOSITORY_LENGTH) {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": the repository path is longer than ${MAX_REPOSITORY_LENGTH} characters`);
  }
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw new InvalidReferenceError(
        `invalid OCI reference "${shown(input)}": repository component "${shown(component)}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"`);
    }
  }
}

function validateTag(tag: string, input: string): void {
  if (!TAG_RE.test(tag)) {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": tag "${shown(tag)}" must be 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
  }
}

function validateDigest(digest: string, input: string): void {
  try {
    digestAlgorithm(digest);
  } catch {
    throw new InvalidReferenceError(`invalid OCI reference "${shown(input)}": digest "${shown(digest)}" must be sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`);
  }
}

/** Input as quoted in messages: bounded length, so a huge value does not flood a condition. */
function shown(value: string): string {
  return value.length > 300 ? `${value.slice(0, 300)}…` : value;
}
