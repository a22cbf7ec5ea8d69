// Process memory from /proc/<pid>/status.
import test from 'ava';
import { MemorySampler, parseProcStatus, ProcStatusError, readProcessMemory } from '../../../bench/framework/memory.ts';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t 1234567 kB
VmSize:\t 1200000 kB
VmHWM:\t  150000 kB
VmRSS:\t   98304 kB
RssAnon:\t   60000 kB
Threads:\t11
`;

test('VmRSS and VmHWM are read in bytes, not confused with VmPeak or RssAnon', (t) => {
  t.deepEqual(parseProcStatus(STATUS), { rss: 98304 * 1024, hwm: 150000 * 1024 });
});

test('a status without memory lines (a kernel thread) is refused', (t) => {
  t.throws(() => parseProcStatus('Name:\tkthreadd\nState:\tS (sleeping)\n'), { instanceOf: ProcStatusError });
  t.throws(() => parseProcStatus('VmRSS:\t 12 kB\n'), { instanceOf: ProcStatusError });
});

test('this process has a resident size and a peak at least as large; a pid that does not exist has none', (t) => {
  const self = readProcessMemory('self');
  t.truthy(self);
  t.true(self!.rss > 0);
  t.true(self!.hwm >= self!.rss);
  t.is(readProcessMemory(2 ** 22 + 12345), undefined);
});

test('the sampler reports the peak of a process it watched and leaves out pids it never saw', (t) => {
  const sampler = new MemorySampler([process.pid, 2 ** 22 + 12345], 10);
  const ballast = Buffer.alloc(32 * 1024 * 1024, 1); // touched pages: resident
  sampler.sample();
  const seen = sampler.stop();
  t.is(ballast.length, 32 * 1024 * 1024);
  t.is(seen.size, 1);
  const mine = seen.get(process.pid)!;
  t.true(mine.samples >= 2);
  t.true(mine.peak >= mine.first);
  t.true(mine.peak >= mine.last);
  t.true(mine.maxRss <= mine.peak, 'the sampled maximum never exceeds the peak since start');
  t.true(mine.maxRss >= mine.last);
});
