import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../../../hack/lib/processes.ts';

test('once `exited` resolves, the log file holds everything the process wrote', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-processes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (let round = 0; round < 20; round++) {
    const logFile = join(dir, `round-${round}.log`);
    // 2 MiB on stdout and a last line on stderr, then exit at once: more than one pipe buffer is still unread at 'exit'.
    const proc = startProcess('writer', 'sh', ['-c', 'head -c 2097152 /dev/zero | tr "\\0" x; echo; echo last-line >&2'], { logFile });
    t.is(await proc.exited, 0);
    const log = readFileSync(logFile, 'utf8');
    t.is(log.length, 2_097_152 + 1 + 'last-line\n'.length, `round ${round}: the whole output is in the log`);
  }
});
