/**
 * Credential redaction for everything that leaves the process as text: log
 * lines, condition messages, Event notes. Errors from HTTP and Git libraries
 * often echo the URL they used (with `user:password@`) or the request headers;
 * those must never reach a log, a status or an Event. The apiserver's
 * validation errors echo the value they refuse (`data[key]: Invalid value:
 * "…": …`), which may be a Secret's or a Secret-sourced value: the value is
 * dropped, the field and the reason stay.
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** Object keys whose values are secrets wherever they appear (compared case-insensitively). */
export const SECRET_KEYS: readonly string[] = [
  'password', 'passwd', 'token', 'bearertoken', 'accesstoken', 'access_token', 'refreshtoken', 'refresh_token',
  'secret', 'clientsecret', 'client_secret', 'authorization', 'auth', 'apikey', 'api_key', 'privatekey',
  'private_key', 'identity', 'credentials', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization',
];

const secretKeys = new Set(SECRET_KEYS);

/** URL query parameters that carry credentials (compared case-insensitively). */
const SECRET_QUERY = /([?&](?:access_token|token|id_token|refresh_token|password|passwd|secret|client_secret|api_key|apikey|key|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential)=)[^&#\s"'<>]*/gi;

/** `scheme://user:pass@` or `scheme://token@` in a URL. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]+@/gi;

/** `Authorization: Bearer x`, `authorization=Basic x`, `"authorization":"..."` and friends. */
const AUTH_HEADER = /((?:proxy-)?authorization|x-api-key|cookie)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token|digest|negotiate)\s+)?[^\s"',;}]+/gi;

/** A free-standing `Bearer <token>` / `Basic <b64>`. */
const SCHEME_TOKEN = /\b(bearer|basic)\s+[a-z0-9._~+/=-]{6,}/gi;

/** `password=x`, `token: x`, `"secret":"x"` in free text. */
const KEY_VALUE = /\b(password|passwd|pwd|token|secret|api[_-]?key|client[_-]?secret|access[_-]?token)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi;

/**
 * The value the apiserver echoes in a field error: `Invalid value: "quoted"`
 * (Go's %q, backslash escapes) or an unquoted one (`-1`, `map[…]`) up to the
 * `: ` before the reason.
 */
const FIELD_ERROR_VALUE = /\b(Invalid|Unsupported|Duplicate) value: (?:"(?:[^"\\\n]|\\.)*"|.*?(?=: |; |\n|$))/g;

/**
 * Strips credentials from a string: URL user info, token query parameters,
 * auth headers, key=value secrets, and the values the apiserver's field errors
 * echo.
 */
export function redactString(text: string): string {
  return text
    .replace(FIELD_ERROR_VALUE, `$1 value: ${REDACTED}`)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(SECRET_QUERY, `$1${REDACTED}`)
    .replace(AUTH_HEADER, `$1$2${REDACTED}`)
    .replace(SCHEME_TOKEN, `$1 ${REDACTED}`)
    .replace(KEY_VALUE, `$1$2${REDACTED}`);
}

/** An Error copy whose message, stack and cause chain are redacted; class name and `code`-like fields kept. */
export function redactError(err: Error, depth = 0): Error {
  const copy = new Error(redactString(err.message));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : redactString(err.stack);
  for (const [k, v] of Object.entries(err)) {
    if (k === 'message' || k === 'stack') continue;
    (copy as unknown as Record<string, unknown>)[k] = redactValue(v, k, depth + 1);
  }
  if (err.cause !== undefined && depth < 5) copy.cause = redactValue(err.cause, 'cause', depth + 1);
  return copy;
}

function redactValue(value: unknown, key: string | undefined, depth: number): unknown {
  if (key !== undefined && secretKeys.has(key.toLowerCase()) && value !== undefined && value !== null && value !== '') {
    return REDACTED;
  }
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[Truncated]';
  if (value instanceof Error) return redactError(value, depth);
  if (value instanceof URL) return redactString(value.href);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, undefined, depth + 1));
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k, depth + 1);
  return out;
}

/**
 * Returns a copy of `value` with credentials removed: strings are scrubbed,
 * Errors are copied with scrubbed message and stack, and fields named like
 * secrets (`password`, `token`, `authorization`, ...) are replaced wholesale.
 */
export function redact<T>(value: T): T {
  return redactValue(value, undefined, 0) as T;
}

/** A one-line, redacted description of anything thrown, for conditions and Events. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redactString(err.message);
  if (typeof err === 'string') return redactString(err);
  try {
    return redactString(JSON.stringify(err) ?? String(err));
  } catch {
    return 'unknown error';
  }
}
