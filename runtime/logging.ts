/**
 * JSON logging with pino. Every argument of every log call goes through
 * {@link redact}, so a URL with a password or an error that echoes an
 * Authorization header is scrubbed before it is serialized; pino's own path
 * redaction covers well-known secret fields as a second line of defence.
 */
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Level, type Logger } from 'pino';
import { redact, REDACTED } from './redact.ts';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level (default `info`, or `LOG_LEVEL` from the environment). */
  readonly level?: Level | 'silent';
  /** Bound on every line as `name`, e.g. `source-controller`. */
  readonly name?: string;
  /** Where lines go (default stdout). Tests pass a stream to capture output. */
  readonly destination?: DestinationStream;
}

/** Paths pino censors itself, in case a secret slips past the argument scrub. */
export const REDACT_PATHS: readonly string[] = [
  'password', '*.password', 'token', '*.token', 'bearerToken', '*.bearerToken', 'secret', '*.secret',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers.cookie', '*.headers.cookie', 'req.headers.authorization', 'config.auth', 'auth.password',
];

/**
 * pino applies `formatters.bindings` to the root's bindings only, not to a
 * child's; so every child (and its children) scrubs its bindings here.
 */
type PinoChild = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

function redactChildBindings(logger: Logger, pinoChild?: PinoChild): Logger {
  // Children inherit own properties from their parent (Object.create), so each
  // one gets its own wrapper that calls pino's original, unbound method on itself.
  const makeChild = pinoChild ?? (Object.getPrototypeOf(logger) as { child: PinoChild }).child;
  const child = (bindings: Bindings, childOptions?: ChildLoggerOptions): Logger =>
    redactChildBindings(makeChild.call(logger, redact(bindings), childOptions), makeChild);
  logger.child = child as unknown as Logger['child'];
  return logger;
}

/** A pino logger writing JSON lines with credentials redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env.LOG_LEVEL as Level | undefined;
  return redactChildBindings(pino({
    level: options.level ?? envLevel ?? 'info',
    base: options.name === undefined ? undefined : { name: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: (err: unknown) => pino.stdSerializers.err(redact(err) as Error) },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redact(bindings),
    },
    hooks: {
      logMethod(args, method) {
        // Scrub the merge object, the message and any interpolation arguments.
        const scrubbed = args.map((a: unknown) => redact(a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  }, options.destination ?? pino.destination({ dest: 1, sync: false })));
}

/** A child logger whose every line carries the object key and kind: `{"kind":"GitRepository","key":"ns/name"}`. */
export function objectLogger(logger: Logger, kind: string, key: string): Logger {
  return logger.child({ kind, key });
}
