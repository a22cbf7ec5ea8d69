// `trellis image build` refuses bad input before it builds anything.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ImageBuildSetupError, megabytes, runImageBuild } from '../../../cli/image/command.ts';

const sink = { write: (): boolean => true };

test('a push reference without a tag is refused', async (t) => {
  await t.throwsAsync(runImageBuild({ push: 'oci://127.0.0.1:5000/trellis' }, sink, sink), { message: /give a tag/ });
});

test('a malformed push reference is refused', async (t) => {
  await t.throwsAsync(runImageBuild({ push: 'not a reference' }, sink, sink));
});

test('a folder that is not a Trellis checkout is refused with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-image-unit-'));
  await t.throwsAsync(runImageBuild({ root: dir, output: join(dir, 'out') }, sink, sink),
    { instanceOf: ImageBuildSetupError, message: /is not a Trellis checkout \(no package\.json\)/ });
});

test('sizes are reported in MB with one decimal', (t) => {
  t.is(megabytes(61_136_732), '58.3 MB');
  t.is(megabytes(0), '0.0 MB');
});
