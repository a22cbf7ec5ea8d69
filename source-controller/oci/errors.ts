/**
 * Typed errors of the OCI client. Every error that leaves this package is one of
 * these: its `reason` is a CamelCase condition reason, `transient` says whether time
 * may fix it (the registry was down, rate limited) or the user must act (wrong
 * credentials, a digest that does not match). Messages name the registry and the
 * reference, never credentials or tokens, and no error keeps the raw cause (library
 * errors may hold request headers).
 */

/** Why an OCI operation failed, as a CamelCase condition reason. */
export type OciErrorReason =
  | 'InvalidReference' | 'NotFound' | 'NoMatchingVersion' | 'AuthenticationFailed' | 'RegistryUnreachable'
  | 'TLSVerificationFailed' | 'RateLimited' | 'RegistryError' | 'DigestMismatch' | 'ManifestInvalid'
  | 'PlatformRequired' | 'LayerNotFound' | 'SizeLimitExceeded' | 'InvalidCredentials' | 'HostDenied';

/** Base class of every error this package throws. */
export class OciError extends Error {
  override readonly name: string = 'OciError';
  /** CamelCase reason for a condition. */
  readonly reason: OciErrorReason;
  /** True when retrying later may succeed without a change by the user. */
  readonly transient: boolean;

  constructor(reason: OciErrorReason, message: string, transient = false) {
    super(message);
    this.reason = reason;
    this.transient = transient;
  }
}

/** A reference (`oci://host/repo:tag`), tag, digest or semver range is malformed. */
export class InvalidReferenceError extends OciError {
  override readonly name = 'InvalidReferenceError';
  constructor(message: string) { super('InvalidReference', message); }
}

/** The repository, tag, manifest or blob does not exist (HTTP 404). */
export class NotFoundError extends OciError {
  override readonly name = 'NotFoundError';
  constructor(message: string) { super('NotFound', message); }
}

/** No tag of the repository satisfies the semver range. */
export class NoMatchingVersionError extends OciError {
  override readonly name = 'NoMatchingVersionError';
  constructor(message: string) { super('NoMatchingVersion', message); }
}

/**
 * The registry refused the credentials (401/403 after presenting them), or requires
 * credentials and none were configured. Not retried: the user must fix the secret.
 */
export class AuthenticationError extends OciError {
  override readonly name = 'AuthenticationError';
  /** The HTTP status that ended the attempt (401 or 403), when there was one. */
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number) {
    super('AuthenticationFailed', message);
    this.statusCode = statusCode;
  }
}

/** The registry could not be reached (connection refused or reset, DNS, timeout) after the retries. */
export class RegistryUnreachableError extends OciError {
  override readonly name = 'RegistryUnreachableError';
  constructor(message: string) { super('RegistryUnreachable', message, true); }
}

/** The TLS handshake failed: unknown CA, wrong host name, or a plain-HTTP registry. Not retried. */
export class TlsError extends OciError {
  override readonly name = 'TlsError';
  constructor(message: string) { super('TLSVerificationFailed', message); }
}

/** The registry kept answering 429; `retryAfterMs` is what it last asked for. */
export class RateLimitedError extends OciError {
  override readonly name = 'RateLimitedError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super('RateLimited', message, true);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The registry answered with an unexpected status (5xx after the retries, 400, 405, ...). */
export class RegistryError extends OciError {
  override readonly name = 'RegistryError';
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super('RegistryError', message, statusCode >= 500);
    this.statusCode = statusCode;
  }
}

/** Content does not match the digest (or size) that names it. Nothing is kept. */
export class DigestMismatchError extends OciError {
  override readonly name = 'DigestMismatchError';
  readonly expected: string;
  readonly actual: string | undefined;
  constructor(message: string, expected: string, actual?: string) {
    super('DigestMismatch', message);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A manifest that is not JSON, has the wrong schemaVersion, or malformed descriptors. */
export class ManifestInvalidError extends OciError {
  override readonly name = 'ManifestInvalidError';
  constructor(message: string) { super('ManifestInvalid', message); }
}

/** An image index needs a platform to pick a manifest, or none matches the one given. */
export class PlatformSelectionError extends OciError {
  override readonly name = 'PlatformSelectionError';
  constructor(message: string) { super('PlatformRequired', message); }
}

/** No layer, or more than one, matches the media type asked for. */
export class LayerSelectionError extends OciError {
  override readonly name = 'LayerSelectionError';
  /** The media types of the manifest's layers, in order. */
  readonly available: readonly string[];
  constructor(message: string, available: readonly string[]) {
    super('LayerNotFound', message);
    this.available = available;
  }
}

/** A manifest or blob is larger than the configured limit. */
export class SizeLimitError extends OciError {
  override readonly name = 'SizeLimitError';
  readonly limit: number;
  constructor(message: string, limit: number) {
    super('SizeLimitExceeded', message);
    this.limit = limit;
  }
}

/** A docker config (`kubernetes.io/dockerconfigjson`) cannot be read. The message never quotes it. */
export class InvalidCredentialsError extends OciError {
  override readonly name = 'InvalidCredentialsError';
  constructor(message: string) { super('InvalidCredentials', message); }
}

/** The source-host policy refused the registry, its token realm or a redirect target (see net/host-policy.ts). */
export class HostDeniedOciError extends OciError {
  override readonly name = 'HostDeniedOciError';
  constructor(message: string) { super('HostDenied', message); }
}
