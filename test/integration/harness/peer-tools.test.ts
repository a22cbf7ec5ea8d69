// The peer clients for interop tests are real oras and cosign binaries from
// Debian packages, unpacked into the project's tools folder.
import test from 'ava';
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { ensurePeerTools, peerToolsDir } from '../../../hack/peer-tools.ts';

const run = promisify(execFile);

test('oras and cosign run from the tools folder and print their versions', async (t) => {
  const tools = ensurePeerTools(() => undefined);
  for (const path of [tools.oras, tools.cosign]) {
    t.false(relative(peerToolsDir, path).startsWith('..'), `${path} is inside ${peerToolsDir}`);
  }
  const oras = await run(tools.oras, ['version']);
  t.regex(oras.stdout, /^Version:\s+1\.\d+\.\d+/m);
  // Debian's cosign build reports GitVersion "devel"; its Go version shows a real build ran.
  const cosign = await run(tools.cosign, ['version']);
  t.regex(cosign.stdout, /^GitVersion:\s+\S+/m);
  t.regex(cosign.stdout, /^GoVersion:\s+go1\.\d+/m);
  t.regex(cosign.stdout, /^Platform:\s+linux\/amd64/m);
});

test('a second call reuses the unpacked tools', (t) => {
  const first = ensurePeerTools(() => undefined);
  const lines: string[] = [];
  const second = ensurePeerTools((line) => lines.push(line));
  t.deepEqual(second, first);
  t.deepEqual(lines, [], 'nothing downloaded again');
});

test('an unknown subcommand fails (the binaries are real, not stubs)', async (t) => {
  const tools = ensurePeerTools(() => undefined);
  await t.throwsAsync(run(tools.oras, ['no-such-command']));
  await t.throwsAsync(run(tools.cosign, ['no-such-command']));
});
