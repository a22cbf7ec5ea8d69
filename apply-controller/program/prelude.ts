/**
 * The code the sandbox runs before a program: it takes away what would make a
 * render depend on anything but the program and its values. QuickJS has no I/O,
 * timers, modules, `require`, `process` or `fetch` of its own; what it does have
 * that varies — the clock and `Math.random` — is replaced here by fixed stand-ins,
 * and `console` collects lines (bounded) instead of printing them.
 *
 * The program runs after this code in the same realm, so it could undo any of it;
 * that is harmless, because nothing here grants anything: the fixed clock and
 * random numbers only make honest programs deterministic, and a program that
 * reaches for the real clock finds none (QuickJS's `Date` is the only clock, and
 * its constructor without arguments is replaced before the program is loaded).
 */

/** The global the compiled program sets: `{ describe(): string, render(valuesJson): string }`. */
export const PROGRAM_GLOBAL = 'trellisProgram';

/** The global the prelude keeps `console` lines in. */
export const LOGS_GLOBAL = '__trellisLogs';

/** The guest source of the prelude; `maxLogLines` bounds the kept console output. */
export function preludeSource(maxLogLines: number): string {
  return `(() => {
  'use strict';
  const RealDate = Date;
  const EPOCH = 0;
  function FixedDate(...args) {
    if (new.target === undefined) return new RealDate(EPOCH).toString();
    return args.length === 0 ? new RealDate(EPOCH) : new RealDate(...args);
  }
  FixedDate.prototype = RealDate.prototype;
  FixedDate.now = () => EPOCH;
  FixedDate.UTC = RealDate.UTC;
  FixedDate.parse = RealDate.parse;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: FixedDate, writable: true, configurable: true });
  globalThis.Date = FixedDate;

  // A fixed-seed generator (xorshift32): programs that want random-looking ids get the same ones every render.
  let seed = 0x2f6b4d1;
  Math.random = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };

  const logs = [];
  let dropped = 0;
  const text = (v) => {
    if (typeof v === 'string') return v;
    try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
  };
  const log = (...args) => {
    if (logs.length < ${Math.max(0, Math.floor(maxLogLines))}) logs.push(args.map(text).join(' ').slice(0, 2000));
    else dropped += 1;
  };
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log, trace: log });
  Object.defineProperty(globalThis, '${LOGS_GLOBAL}', {
    value: () => JSON.stringify(dropped > 0 ? [...logs, '(' + dropped + ' more lines not kept)'] : logs),
  });
  // JSON data is all a program handles; a JSON round trip is its deep copy.
  globalThis.structuredClone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  globalThis.process = Object.freeze({ env: Object.freeze({}), platform: 'sandbox', version: '', versions: Object.freeze({}) });
})();`;
}
