/**
 * `npm test`: typecheck, lint, then every AVA test against one shared local
 * control plane (with its simulated node), then a teardown check that no process
 * of the run is left. Ends with the line `N passed, N failed` that CI reads and
 * exits non-zero when anything failed. Arguments are passed to AVA (a file or
 * `--match`), and `--skip-static` skips typecheck and lint.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from './local-cluster.ts';
import { projectRoot } from './lib/system-tools.ts';

interface Counts { passed: number; failed: number }

const say = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Runs a node script from the project, streaming its output; resolves with its exit code. */
function runNode(args: readonly string[], env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: ['ignore', onLine ? 'pipe' : 'inherit', 'inherit'] });
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
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
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
  const code = await runNode(['node_modules/ava/entrypoints/cli.mjs', '--tap', ...extraArgs, ...files], env, (line) => {
    const result = /^(not )?ok \d+ /.exec(line);
    if (result) {
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
  const counts = sawSummary ? summary : streamed;
  if (code !== 0 && counts.failed === 0) {
    say(`AVA exited with ${code}${sawSummary ? '' : ' before reporting its summary'}`);
    counts.failed += 1;
  }
  return counts;
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
  const env: NodeJS.ProcessEnv = { ...process.env, TRELLIS_TEST_RUN_DIR: runDir };
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  const stop = async (): Promise<void> => { const c = cluster; cluster = undefined; await c?.stop(); };
  process.on('SIGINT', () => { void stop().then(() => process.exit(130)); });
  process.on('SIGTERM', () => { void stop().then(() => process.exit(143)); });
  try {
    cluster = await startLocalCluster({ dir: join(runDir, 'cluster') });
    env.TRELLIS_TEST_KUBECONFIG = cluster.kubeconfigPath;
    const main = await runAva([], avaArgs, env);
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
