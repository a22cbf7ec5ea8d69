// The pieces of `trellis up` that need no cluster: the controllers' flags (read
// back by the controllers' own flag parsers), log formatting, the env file and
// the bin wrappers (run by a real shell), ports kept between runs, the folder
// lock, and the registry forwarder carrying HTTP both ways.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseApplyControllerFlags } from '../../../apply-controller/main.ts';
import { controllerSpecs } from '../../../cli/up/controllers.ts';
import { startForwarder } from '../../../cli/up/forward.ts';
import { lineFormatter, lineSplitter } from '../../../cli/up/logs.ts';
import {
  AlreadyRunningError, choosePort, envFileText, portIsFree, readPorts, releaseLock, shellQuote, takeLock,
  writeBinWrappers, writeLock, writePorts,
} from '../../../cli/up/state.ts';
import { parseSourceControllerFlags } from '../../../source-controller/main.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'trellis-up-unit-'));

test('the controllers\' flags are accepted by their own parsers and point under the folder', (t) => {
  const [source, apply] = controllerSpecs({ kubeconfig: '/d/kubeconfig', dir: '/d', artifactPort: 41234, watchNamespace: 'team' });
  t.is(source?.entry, 'source-controller/main.ts');
  t.is(apply?.entry, 'apply-controller/main.ts');
  const s = parseSourceControllerFlags(source?.args ?? []);
  t.is(s.kubeconfig, '/d/kubeconfig');
  t.is(s.storagePath, '/d/artifacts');
  t.is(s.artifactAddr, '127.0.0.1:41234');
  t.is(s.storageAdvAddr, '127.0.0.1:41234', 'the apply controller downloads from loopback');
  t.is(s.metricsAddr, '');
  t.is(s.healthAddr, '');
  t.is(s.watchNamespace, 'team');
  t.false(s.leaderElect);
  const a = parseApplyControllerFlags(apply?.args ?? []);
  t.is(a.kubeconfig, '/d/kubeconfig');
  t.is(a.artifactCacheDir, '/d/apply-cache');
  t.is(a.watchNamespace, 'team');
  t.is(a.metricsAddr, '');
});

const JSON_LINE = '{"level":"info","time":"2026-01-10T12:00:00.000Z","name":"source-controller","key":"default/web","msg":"artifact stored"}';

test('JSON log mode passes controller JSON through and wraps other lines as JSON', (t) => {
  const f = lineFormatter({ format: 'json', prefix: 'source', name: 'source-controller', color: false });
  t.is(f(JSON_LINE), `${JSON_LINE}\n`);
  const wrapped = JSON.parse(f('(node:1) Warning: something')) as { name: string; msg: string };
  t.is(wrapped.name, 'source-controller');
  t.is(wrapped.msg, '(node:1) Warning: something');
  t.is((JSON.parse(f('plain', false)) as { level: number }).level, 30);
  t.is((JSON.parse(f('SyntaxError: boom', true)) as { level: number }).level, 50, 'non-JSON on stderr is an error');
  t.is(f(''), '');
});

test('pretty log mode prefixes every line with the controller and keeps the fields', (t) => {
  const f = lineFormatter({ format: 'pretty', prefix: 'apply', name: 'apply-controller', color: false, prefixWidth: 6 });
  const out = f(JSON_LINE);
  t.regex(out, /^apply {2}│ \[\d\d:\d\d:\d\d\] INFO: artifact stored \{"key":"default\/web"\}\n$/);
  t.false(out.includes('\u001b'), 'no colour unless asked');
  t.is(f('not json'), 'apply  │ not json\n');
  const colored = lineFormatter({ format: 'pretty', prefix: 'apply', name: 'apply-controller', color: true })(JSON_LINE);
  t.true(colored.includes('\u001b['));
});

test('the line splitter hands over complete lines and the unterminated rest on flush', (t) => {
  const lines: string[] = [];
  const split = lineSplitter((l) => lines.push(l));
  split.push('a\nb');
  split.push(Buffer.from('c\n\nd'));
  t.deepEqual(lines, ['a', 'bc', '']);
  split.flush();
  t.deepEqual(lines, ['a', 'bc', '', 'd']);
});

test('the env file, sourced by a real shell, exports what the Quickstart needs, quoting odd paths', (t) => {
  const dir = join(tmp(), "it's here");
  const text = envFileText({ kubeconfig: join(dir, 'kubeconfig'), registry: '127.0.0.1:5000', binDir: join(dir, 'bin') });
  writeFileSync(`${dir}.env`, text);
  const out = execFileSync('bash', ['-c', `source ${shellQuote(`${dir}.env`)}; printf '%s\\n' "$KUBECONFIG" "$TRELLIS_REGISTRY" "\${PATH%%:*}"`], { encoding: 'utf8' });
  t.deepEqual(out.trimEnd().split('\n'), [join(dir, 'kubeconfig'), '127.0.0.1:5000', join(dir, 'bin')]);
  t.false(envFileText({ kubeconfig: '/k', binDir: '/b' }).includes('TRELLIS_REGISTRY='), 'no registry line against an existing cluster');
});

test('the bin wrappers run the CLI with the given Node, kubectl-package as `package`', (t) => {
  const dir = tmp();
  // A stand-in "node" that prints its arguments shows exactly what the wrapper runs.
  const fakeNode = join(dir, 'fake node');
  writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s|" "$@"\n');
  execFileSync('chmod', ['+x', fakeNode]);
  writeBinWrappers(join(dir, 'bin'), fakeNode, '/repo/cli/trellis.ts');
  t.is(statSync(join(dir, 'bin', 'trellis')).mode & 0o111, 0o111);
  t.is(execFileSync(join(dir, 'bin', 'trellis'), ['push', 'a b'], { encoding: 'utf8' }), '/repo/cli/trellis.ts|push|a b|');
  t.is(execFileSync(join(dir, 'bin', 'kubectl-package'), ['list', '-A'], { encoding: 'utf8' }), '/repo/cli/trellis.ts|package|list|-A|');
});

test('ports: the recorded one when it is free, another when it is taken', async (t) => {
  const dir = tmp();
  t.deepEqual(readPorts(dir), {});
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as { port: number }).port;
  writePorts(dir, { registry: taken });
  t.deepEqual(readPorts(dir), { registry: taken });
  t.false(await portIsFree(taken));
  const other = await choosePort(taken);
  t.not(other, taken);
  await new Promise<void>((r) => blocker.close(() => r()));
  t.is(await choosePort(taken), taken, 'free again: kept');
});

test('the lock refuses a second live `up` and kills controllers a dead one left behind', (t) => {
  const dir = tmp();
  takeLock(dir);
  writeLock(dir, [123456789]);
  t.notThrows(() => takeLock(dir), 'our own lock is ours');
  releaseLock(dir);

  // A live process whose command line looks like `trellis up`.
  const upLike = execFileSync('bash', ['-c', 'exec -a "node cli/trellis.ts up --dir x" sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim();
  // A "controller" of that run: its command line names the folder.
  const controller = execFileSync('bash', ['-c', `exec -a "node source-controller/main.ts ${dir}" sleep 30 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim();
  const bystander = execFileSync('bash', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim();
  try {
    writeFileSync(join(dir, 'up.json'), JSON.stringify({ pid: Number(upLike), controllers: [Number(controller), Number(bystander)] }));
    t.throws(() => takeLock(dir), { instanceOf: AlreadyRunningError, message: new RegExp(`already running for .* \\(pid ${upLike}\\)`) });
    process.kill(Number(upLike), 'SIGKILL');
    execFileSync('bash', ['-c', `while kill -0 ${upLike} 2>/dev/null; do sleep 0.05; done`]);
    takeLock(dir);
    execFileSync('bash', ['-c', `for i in $(seq 100); do kill -0 ${controller} 2>/dev/null || exit 0; sleep 0.05; done; exit 1`]);
    t.pass('the orphaned controller was killed');
    t.notThrows(() => process.kill(Number(bystander), 0), 'a process not naming the folder is left alone');
    t.is((JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as { pid: number }).pid, process.pid);
  } finally {
    for (const pid of [upLike, controller, bystander]) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
  }
});

test('the forwarder carries requests and responses both ways, with the Host the client used', async (t) => {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => { res.setHeader('location', `http://${req.headers.host ?? ''}/upload`); res.end(`got ${body.length} bytes`); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = (server.address() as { port: number }).port;
  const forwarder = await startForwarder(0, target);
  t.teardown(async () => { await forwarder.close(); server.close(); });
  const payload = 'x'.repeat(1_000_000);
  const answer = await new Promise<{ body: string; location: string | undefined }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: forwarder.port, method: 'PUT', path: '/' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ body, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end(payload);
  });
  t.is(answer.body, 'got 1000000 bytes');
  t.is(answer.location, `http://127.0.0.1:${forwarder.port}/upload`, 'upload URLs name the stable port');
});

test('the forwarder drops a client whose target is not there instead of hanging', async (t) => {
  const dead = await choosePort(undefined);
  const forwarder = await startForwarder(0, dead);
  t.teardown(() => forwarder.close());
  const outcome = await new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port: forwarder.port, path: '/' }, () => resolve('answered'));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
  t.regex(outcome, /socket hang up|ECONNRESET/);
});
