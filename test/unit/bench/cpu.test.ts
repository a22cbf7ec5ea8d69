// CPU time of processes from /proc/<pid>/stat, and how a contender's rounds are described.
import test from 'ava';
import { basename } from 'node:path';
import { cpuBetween, cpuSnapshot, describeCpu, parseProcStat, processName, ProcStatError, readProcessCpu } from '../../../bench/framework/cpu.ts';

// utime 250, stime 50, cutime 700, cstime 100 ticks; the command name holds a space and a parenthesis.
const STAT = '4242 (kube (api) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 250 50 700 100 20 0 12 0 123456 800000000 20000 18446744073709551615';

test('utime, stime, cutime and cstime are read after the command name, whatever it holds, in seconds', (t) => {
  t.deepEqual(parseProcStat(STAT), { own: 3, children: 8 });
});

test('a line without a command name or without its CPU fields is refused', (t) => {
  t.throws(() => parseProcStat('4242 S 1 2 3'), { instanceOf: ProcStatError });
  t.throws(() => parseProcStat('4242 (node) S 1 4242 4242 0 -1 4194560 9000 0'), { instanceOf: ProcStatError });
  t.throws(() => parseProcStat('4242 (node) S 1 4242 4242 0 -1 4194560 9000 0 0 0 x 50 0 0'), { instanceOf: ProcStatError });
});

test('this process has spent CPU, and it grows with work; a pid that does not exist has none', (t) => {
  const before = readProcessCpu('self');
  t.truthy(before);
  // Spin until Node itself counts 60 ms more of CPU (however busy the machine is), then /proc must show it too.
  const start = process.cpuUsage();
  let spin = 0;
  while (process.cpuUsage(start).user + process.cpuUsage(start).system < 60_000) spin += Math.sqrt(spin + 1);
  t.true(spin > 0);
  const after = readProcessCpu('self');
  t.true(after!.own >= before!.own + 0.03, `${before!.own} -> ${after!.own}`);
  t.is(readProcessCpu(2 ** 22 + 12345), undefined);
});

test('a snapshot sums processes of the same name and leaves out the ones that are gone', (t) => {
  const snap = cpuSnapshot([{ name: 'me', pid: 'self' }, { name: 'me', pid: 'self' }, { name: 'gone', pid: 2 ** 22 + 12345 }]);
  t.deepEqual([...snap.keys()], ['me']);
  t.true((snap.get('me') ?? 0) > 0);
});

test('what each process spent between two snapshots; a process seen only once is left out', (t) => {
  const spent = cpuBetween(new Map([['a', 1], ['b', 2], ['gone', 5]]), new Map([['a', 1.5], ['b', 2], ['new', 3]]));
  t.deepEqual([...spent], [['a', 0.5], ['b', 0]]);
});

test('rounds are described by their median CPU in all and per process, largest first, and the cores they kept busy', (t) => {
  const rounds = [
    { ms: 1000, cpu: new Map([['kube-apiserver', 1.0], ['etcd', 0.3], ['apply-controller', 0.5], ['idle', 0.001]]) },
    { ms: 1200, cpu: new Map([['kube-apiserver', 1.2], ['etcd', 0.4], ['apply-controller', 0.6], ['idle', 0.001]]) },
    { ms: 2000, cpu: new Map([['kube-apiserver', 1.1], ['etcd', 0.3], ['apply-controller', 0.4], ['idle', 0.001]]) },
  ];
  // Totals 1.801, 2.201, 1.801 (median 1.801); busy 1.80, 1.83, 0.90 cores (median 1.80).
  t.is(describeCpu(rounds), '1.80 s (kube-apiserver 1.10 s, apply-controller 0.50 s, etcd 0.30 s), 1.80 cores busy');
  t.is(describeCpu([]), undefined);
});

test('a process is named by its program file, and a pid that does not exist by its number', (t) => {
  t.is(processName(process.pid), basename(process.execPath));
  t.is(processName(2 ** 22 + 12345), `pid ${2 ** 22 + 12345}`);
});
