/**
 * `npm test`: typecheck, lint, then every AVA test against one shared local
 * control plane (with its simulated node), then a teardown check that no process
 * of the run is left. Ends with the line `N passed, N failed` that CI reads and
 * exits non-zero when anything failed. Arguments are passed to AVA (a file or
 * `--match`), and `--skip-static` skips typecheck and lint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from './local-cluster.ts';
import { describeStall } from './lib/stall.ts';
import { ensureDebianTool, projectRoot } from './lib/system-tools.ts';

interface Counts { passed: number; failed: number }

const started = Date.now();
/** Minutes and seconds since the run started, so a slow CI log shows where the time went. */
const elapsed = (): string => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const say = (line: string): void => { process.stderr.write(`[trellis +${elapsed()}] ${line}\n`); };

/**
 * Limits that make a stuck run end with a summary instead of at CI's timeout:
 * AVA is stopped when it prints nothing for `TRELLIS_TEST_STALL_MINUTES` (default
 * 12) or when the run reaches `TRELLIS_TEST_DEADLINE_MINUTES` (default 70). AVA's
 * own inactivity timeout is no guard: once any test has called `t.timeout()`, a
 * test awaiting a promise that never settles hangs the run (docs/development-notes.md).
 */
const minutes = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value * 60_000 : fallback * 60_000;
};
const STALL_MS = minutes('TRELLIS_TEST_STALL_MINUTES', 12);
const DEADLINE_MS = minutes('TRELLIS_TEST_DEADLINE_MINUTES', 70);
/** The AVA process group running now, stopped on a signal or a limit. */
let running: ChildProcess | undefined;
const killRunning = (): void => {
  if (running?.pid !== undefined && running.exitCode === null) {
    try { process.kill(-running.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
};

/** Runs a node script from the project, streaming its output; resolves with its exit code. */
function runNode(args: readonly string[], env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    // Its own process group, so a limit or a signal can stop it with every process it started.
    const child = spawn(process.execPath, args, { cwd: projectRoot, env, detached: true, stdio: ['ignore', onLine ? 'pipe' : 'inherit', 'inherit'] });
    running = child;
    if (onLine && child.stdout) {
      let buffer = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        process.stdout.write(chunk);
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (running === child) running = undefined;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * Runs AVA with the TAP reporter and counts its results: from AVA's closing
 * `# pass`/`# fail` lines when it prints them, otherwise (AVA 7's TAP reporter
 * can crash on a timed-out test) from the `ok`/`not ok` lines it streamed.
 */
async function runAva(files: readonly string[], extraArgs: readonly string[], env: NodeJS.ProcessEnv): Promise<Counts> {
  const summary = { passed: 0, failed: 0 };
  const streamed = { passed: 0, failed: 0 };
  let sawSummary = false;
  let lastLine = Date.now();
  const reported: string[] = [];
  let stopped: string | undefined;
  const watchdog = setInterval(() => {
    if (stopped !== undefined) return;
    const quiet = Date.now() - lastLine;
    const total = Date.now() - started;
    if (quiet > STALL_MS) stopped = `AVA printed nothing for ${Math.round(quiet / 60_000)} minutes`;
    else if (total > DEADLINE_MS) stopped = `the run reached its ${Math.round(DEADLINE_MS / 60_000)}-minute deadline`;
    else if (Math.floor(total / 60_000) % 5 === 0) say(`${streamed.passed + streamed.failed} results so far, the last ${Math.round(quiet / 1000)} s ago`);
    if (stopped === undefined) return;
    say(`${stopped}: stopping it`);
    // Say where it was stuck before stopping it: AVA prints nothing of the tests it never finished.
    void describeStall({ runDir: env.TRELLIS_TEST_RUN_DIR ?? '', avaPid: running?.pid, reported, root: projectRoot })
      .then((lines) => { for (const line of lines) say(line); }, (err: unknown) => { say(`could not describe the stall: ${String(err)}`); })
      .finally(killRunning);
  }, 60_000);
  const code = await runNode(['node_modules/ava/entrypoints/cli.mjs', '--tap', ...extraArgs, ...files], env, (line) => {
    lastLine = Date.now();
    const result = /^(not )?ok \d+ - (.*)$/.exec(line);
    if (result) {
      reported.push(result[2] ?? '');
      if (result[1]) streamed.failed += 1;
      else if (!/ # (SKIP|TODO)/i.test(line)) streamed.passed += 1;
      return;
    }
    const m = /^# (pass|fail) (\d+)/.exec(line);
    if (!m) return;
    sawSummary = true;
    if (m[1] === 'pass') summary.passed += Number(m[2]);
    else summary.failed += Number(m[2]);
  });
  clearInterval(watchdog);
  const counts = sawSummary ? summary : streamed;
  if (stopped !== undefined) {
    say(`AVA was stopped (${stopped}); the tests that had not reported count as one failure`);
    counts.failed += 1;
  } else if (code !== 0 && counts.failed === 0) {
    say(`AVA exited with ${code}${sawSummary ? '' : ' before reporting its summary'}`);
    counts.failed += 1;
  }
  return counts;
}

/** True when the run includes the browser tests: every test, or test files of which one is under test/e2e/ui. */
function runsBrowserTests(avaArgs: readonly string[]): boolean {
  const files = avaArgs.filter((a) => a.endsWith('.ts') || a.includes('/'));
  return files.length === 0 || files.some((f) => f.includes('e2e/ui'));
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const skipStatic = argv.includes('--skip-static');
  const avaArgs = argv.filter((a) => a !== '--skip-static');
  const total: Counts = { passed: 0, failed: 0 };

  if (!skipStatic) {
    say('typecheck (tsc --noEmit)');
    if (await runNode(['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.']) !== 0) { total.failed += 1; say('typecheck failed'); }
    say('lint (eslint)');
    if (await runNode(['node_modules/eslint/bin/eslint.js', '.']) !== 0) { total.failed += 1; say('lint failed'); }
  }

  const runDir = mkdtempSync(join(tmpdir(), 'trellis-test-'));
  // The tests' own temporary folders go inside the run's folder, so the removal below takes
  // what a test left behind (a failed test skips its cleanup; some tests never had one).
  const scratch = join(runDir, 'tmp');
  mkdirSync(scratch);
  const env: NodeJS.ProcessEnv = { ...process.env, TRELLIS_TEST_RUN_DIR: runDir, TMPDIR: scratch };
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  const stop = async (): Promise<void> => { const c = cluster; cluster = undefined; await c?.stop(); };
  process.on('SIGINT', () => { killRunning(); void stop().then(() => process.exit(130)); });
  process.on('SIGTERM', () => { killRunning(); void stop().then(() => process.exit(143)); });
  try {
    if (runsBrowserTests(avaArgs)) {
      // Once, before the tests: installed by the first test that needs it, it made the others time out on a busy machine.
      try {
        ensureDebianTool('chromium', 'chromium', say);
      } catch (err) {
        say(`no chromium (${err instanceof Error ? err.message : String(err)}); the browser tests will fail and say why`);
      }
    }
    say('starting the local control plane');
    cluster = await startLocalCluster({ dir: join(runDir, 'cluster') });
    env.TRELLIS_TEST_KUBECONFIG = cluster.kubeconfigPath;
    say('control plane up; running AVA');
    const main = await runAva([], avaArgs, env);
    say(`AVA done: ${main.passed} passed, ${main.failed} failed`);
    total.passed += main.passed;
    total.failed += main.failed;
  } catch (err) {
    say(`could not run the tests: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    total.failed += 1;
  } finally {
    await stop();
  }
  if (avaArgs.length === 0) {
    // After every server of the run was stopped: prove none is left behind.
    const teardown = await runAva(['test/teardown/no-leftover-processes.check.ts'], ['--config', 'test/teardown/ava.config.js'], env);
    total.passed += teardown.passed;
    total.failed += teardown.failed;
  }
  rmSync(runDir, { recursive: true, force: true });
  process.stdout.write(`\n${total.passed} passed, ${total.failed} failed\n`);
  return total.failed === 0 ? 0 : 1;
}

// Exit explicitly: a handle some library left open must never keep CI waiting.
process.exit(await main());
