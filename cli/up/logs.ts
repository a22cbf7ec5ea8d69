/**
 * The controllers' logs as `trellis up` shows them. Controllers write pino JSON,
 * one object per line. On a terminal each line is made readable with
 * pino-pretty and prefixed with the controller's short name, so two interleaved
 * streams stay apart; otherwise the JSON lines pass through untouched (each
 * already names its controller in `name`), and the rare non-JSON line (a Node
 * warning, a crash trace) is wrapped into a JSON line of its own so the output
 * stays one JSON object per line.
 */
import pinoPretty from 'pino-pretty';

/** `pretty` (terminal) or `json` (files, pipes, CI). */
export type LogFormat = 'pretty' | 'json';

/**
 * Turns one line a controller wrote into what `trellis up` prints (with its
 * newline). `fromStderr` marks lines from standard error: a non-JSON one there
 * is a crash or a warning, so it is wrapped at level error.
 */
export type LineFormatter = (line: string, fromStderr?: boolean) => string;

/** Options of {@link lineFormatter}. */
export interface LineFormatterOptions {
  readonly format: LogFormat;
  /** Short name shown in front of pretty lines (`source`, `apply`). */
  readonly prefix: string;
  /** The controller's name for wrapped non-JSON lines in JSON mode. */
  readonly name: string;
  /** Colours in pretty mode. */
  readonly color: boolean;
  /** Width the prefixes are padded to, so messages line up. */
  readonly prefixWidth?: number;
}

/** The formatter for one controller's output. */
export function lineFormatter(opts: LineFormatterOptions): LineFormatter {
  if (opts.format === 'json') {
    return (line, fromStderr = false) => {
      if (line.trim() === '') return '';
      if (isJsonObject(line)) return `${line}\n`;
      return `${JSON.stringify({ level: fromStderr ? 50 : 30, time: Date.now(), name: opts.name, msg: line })}\n`;
    };
  }
  const pretty = pinoPretty.prettyFactory({
    colorize: opts.color, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name', singleLine: true,
  });
  const label = opts.prefix.padEnd(opts.prefixWidth ?? opts.prefix.length);
  const head = opts.color ? `\u001b[36m${label}\u001b[39m │ ` : `${label} │ `;
  return (line) => {
    if (line.trim() === '') return '';
    const body = isJsonObject(line) ? pretty(line).trimEnd() : line;
    return `${body.split('\n').map((l) => `${head}${l}`).join('\n')}\n`;
  };
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/**
 * Splits a byte stream into lines and calls `onLine` for each complete one; the
 * returned `flush` hands over a last line without a newline.
 */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; flush(): void } {
  let buffer = '';
  return {
    push(chunk) {
      buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    },
    flush() {
      if (buffer !== '') onLine(buffer);
      buffer = '';
    },
  };
}
