/**
 * The process entry point both controllers share: parse flags, run, log a fatal
 * error, and exit with the right code even if a library left a handle open.
 */
import type { Level } from 'pino';
import { createLogger, type Logger } from './logging.ts';

/** What {@link runControllerMain} needs from one controller. */
export interface ControllerEntry<F extends { readonly logLevel: Level }> {
  /** The controller's name, on every log line. */
  readonly name: string;
  /** Parses argv; throws commander's error (which already printed the message). */
  parseFlags(argv: readonly string[]): F;
  /** Runs until stopped; resolves with the exit code. */
  run(flags: F, logger: Logger): Promise<number>;
}

/** Parses the flags, runs the controller and exits the process with its code. */
export async function runControllerMain<F extends { readonly logLevel: Level }>(entry: ControllerEntry<F>): Promise<never> {
  const code = await (async (): Promise<number> => {
    let flags: F;
    try {
      flags = entry.parseFlags(process.argv.slice(2));
    } catch (err) {
      const exitCode = (err as { exitCode?: number }).exitCode;
      return typeof exitCode === 'number' ? exitCode : 2;
    }
    const log = createLogger({ name: entry.name, level: flags.logLevel });
    try {
      return await entry.run(flags, log);
    } catch (err) {
      log.fatal({ err }, `${entry.name} failed`);
      return 1;
    }
  })();
  // pino writes asynchronously: give the last lines a moment, then exit.
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.exit(code);
}
