/**
 * Where a command writes, and in which format. A {@link Terminal} is passed to
 * every command instead of touching process.stdout, so tests read exactly what
 * a person would see. Spinners run only when stderr is a terminal; otherwise
 * progress is one plain line per change, which logs and CI read well.
 */
import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { withoutManagedFields, type KubeObject } from '../../runtime/object.ts';
import { colorEnabled } from './format.ts';
import { JsonPathError, parseJsonPath } from './jsonpath.ts';

/** Output streams and what they are connected to. */
export interface Terminal {
  /** Writes to standard output (results). */
  readonly out: (text: string) => void;
  /** Writes to standard error (progress, notes, errors). */
  readonly err: (text: string) => void;
  /** Colour on standard output. */
  readonly color: boolean;
  /** Standard error is a terminal: spinners and in-place updates are fine. */
  readonly interactive: boolean;
}

/** The process's own streams. */
export function processTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  return {
    out: (text) => { process.stdout.write(text); },
    err: (text) => { process.stderr.write(text); },
    color: colorEnabled(process.stdout, env),
    interactive: process.stderr.isTTY === true && env.TERM !== 'dumb',
  };
}

/** A terminal that keeps what was written (not a TTY: no colour, no spinner). */
export interface CapturedTerminal extends Terminal {
  stdout(): string;
  stderr(): string;
}

/** A terminal writing into memory, for tests and for commands that post-process output. */
export function captureTerminal(): CapturedTerminal {
  let out = '';
  let err = '';
  return {
    out: (text) => { out += text; },
    err: (text) => { err += text; },
    color: false,
    interactive: false,
    stdout: () => out,
    stderr: () => err,
  };
}

/**
 * `-o` values: `table` (the default of most commands), `wide` (the table with
 * more columns), `json`, `yaml`, `name` (`kind.group/name`, one a line, for
 * scripts) and `jsonpath=TEMPLATE` (cli/package/jsonpath.ts).
 */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name' | `jsonpath=${string}`;

/** The kinds of `-o` formats, as a command lists the ones it supports. */
export type OutputKind = 'table' | 'wide' | 'json' | 'yaml' | 'name' | 'jsonpath';

/** Every kind of format, in the order help and errors list them. */
export const OUTPUT_FORMATS: readonly OutputKind[] = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath'];

/** The kind of a format (`jsonpath` for any `jsonpath=…`). */
export function outputKind(format: OutputFormat): OutputKind {
  return format.startsWith('jsonpath=') ? 'jsonpath' : format as OutputKind;
}

function describeKinds(kinds: readonly OutputKind[]): string {
  return kinds.map((k) => (k === 'jsonpath' ? 'jsonpath=TEMPLATE' : k)).join(', ');
}

/** A commander parser for `-o` that accepts the given kinds (default all); a template is checked here. */
export function outputFormatParser(kinds: readonly OutputKind[] = OUTPUT_FORMATS): (value: string) => OutputFormat {
  return (value) => {
    const text = value.trim();
    const kind = text.startsWith('jsonpath=') ? 'jsonpath' : text;
    if (!(kinds as readonly string[]).includes(kind)) throw new InvalidArgumentError(`must be one of ${describeKinds(kinds)}`);
    if (kind === 'jsonpath') {
      try {
        parseJsonPath(text.slice('jsonpath='.length));
      } catch (err) {
        if (err instanceof JsonPathError) throw new InvalidArgumentError(`bad jsonpath template: ${err.message}`);
        throw err;
      }
    }
    return text as OutputFormat;
  };
}

/** commander parser for `-o` accepting every format. */
export function parseOutputFormat(value: string): OutputFormat {
  return outputFormatParser()(value);
}

/** `kind.group/name` (`package.apply.trellis.dev/web`), as `kubectl get -o name` prints an object. */
export function objectName(obj: KubeObject): string {
  const [group, version] = (obj.apiVersion ?? '').split('/');
  const kind = (obj.kind ?? '').toLowerCase();
  return `${version === undefined ? kind : `${kind}.${group ?? ''}`}/${obj.metadata?.name ?? ''}`;
}

/**
 * Objects in a format other than a table: `json`/`yaml` as {@link renderObjects},
 * `name` one name a line, `jsonpath=…` run on the object (or on the List when
 * `asList`, as kubectl does for `get` without a name).
 */
export function renderFormatted(objects: readonly KubeObject[], format: Exclude<OutputFormat, 'table' | 'wide'>, asList = false): string {
  if (format === 'json' || format === 'yaml') return renderObjects(objects, format, asList);
  if (format === 'name') return objects.map((o) => `${objectName(o)}\n`).join('');
  const template = parseJsonPath(format.slice('jsonpath='.length));
  const clean = objects.map(withoutManagedFields);
  return template.execute(clean.length === 1 && !asList ? clean[0] : { apiVersion: 'v1', kind: 'List', items: clean });
}

/**
 * Objects as JSON or YAML. One object prints as itself; several (or `asList`)
 * as a `v1` List in JSON, or YAML documents separated by `---` (what
 * `kubectl apply -f` and Git want).
 */
export function renderObjects(objects: readonly KubeObject[], format: 'json' | 'yaml', asList = false): string {
  const clean = objects.map(withoutManagedFields);
  if (format === 'json') {
    const body = clean.length === 1 && !asList ? clean[0] : { apiVersion: 'v1', kind: 'List', items: clean };
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  if (clean.length === 1 && !asList) return stringify(clean[0], { lineWidth: 0 });
  if (asList) return stringify({ apiVersion: 'v1', kind: 'List', items: clean }, { lineWidth: 0 });
  return clean.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** A progress indicator for a wait. */
export interface Progress {
  /** Shows a new state (a spinner's text, or a new line when not interactive and the text changed). */
  update(text: string): void;
  /** Stops the spinner and prints `line` (if any) on its own line. */
  done(line?: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Starts a progress indicator on standard error. */
export function startProgress(term: Terminal, text: string): Progress {
  let current = text;
  if (!term.interactive) {
    term.err(`${text}\n`);
    return {
      update(next) {
        if (next === current) return;
        current = next;
        term.err(`${next}\n`);
      },
      done(line) { if (line !== undefined) term.err(`${line}\n`); },
    };
  }
  let frame = 0;
  const draw = (): void => { term.err(`\r\u001b[2K${FRAMES[frame % FRAMES.length] ?? ''} ${current}`); frame += 1; };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update(next) { current = next; },
    done(line) {
      clearInterval(timer);
      term.err('\r\u001b[2K');
      if (line !== undefined) term.err(`${line}\n`);
    },
  };
}
