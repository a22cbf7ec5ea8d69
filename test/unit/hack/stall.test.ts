import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStall, isTestOf, workersDir } from '../../../hack/lib/stall.ts';

test('a title belongs to a file in a whole run and in a run of that file alone, and not to a file of a similar name', (t) => {
  const file = 'test/e2e/ui/dashboard.test.ts';
  t.true(isTestOf('e2e › ui › dashboard › a Package watched in the browser', file));
  t.true(isTestOf('dashboard › a Package watched in the browser', file));
  t.false(isTestOf('e2e › ui › dashboards › a Package', file));
  t.false(isTestOf('unit › ui › dashboard › a Package', file));
});

test('a stall names the test files still running, their reported tests and what keeps them alive; ended workers are left out', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'trellis-stall-'));
  t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
  const dir = workersDir(runDir);
  mkdirSync(dir);
  // A stand-in worker: alive with a timer, and answering SIGUSR2 as test/support/worker.ts does.
  const script = `process.on('SIGUSR2', () => require('node:fs').writeFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.resources', process.getActiveResourcesInfo().join('\\n')));
    setInterval(() => {}, 1000); console.log('ready');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  writeFileSync(join(dir, String(child.pid)), '/project/test/e2e/ui/dashboard.test.ts');
  // A marker whose process ended without removing it (killed): not running.
  const ended = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => ended.once('exit', resolve));
  writeFileSync(join(dir, String(ended.pid)), '/project/test/e2e/ui/access.test.ts');

  const lines = await describeStall({
    runDir, avaPid: process.pid, root: '/project',
    reported: ['e2e › ui › dashboard › one', 'e2e › ui › access › two', 'e2e › ui › dashboard › three'],
  });
  t.regex(lines[0] ?? '', /^machine: load [\d.]+ [\d.]+ [\d.]+, \d+ MiB available$/);
  t.regex(lines[1] ?? '', new RegExp(`^AVA \\(pid ${process.pid}\\): [A-Z] \\(`));
  t.is(lines.length, 3, lines.join('\n'));
  t.regex(lines[2] ?? '', new RegExp(`^still running: test/e2e/ui/dashboard\\.test\\.ts \\(pid ${child.pid}, [A-Z] \\(.*; 2 of its tests reported; keeping it alive: .*Timeout ×1`));
});

test('with no worker left, the stall is AVA\'s own', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'trellis-stall-'));
  t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
  const lines = await describeStall({ runDir, avaPid: undefined, root: '/project', reported: [] });
  t.deepEqual(lines.slice(1), ['no test worker is running: AVA itself is stuck']);
});
