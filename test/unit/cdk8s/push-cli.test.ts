// The plain parts of push: progress output on terminals and in logs, annotations,
// credentials parsing, tags for versions, reproducible creation times.
import test from 'ava';
import { parseAnnotations } from '../../../cli/push.ts';
import { createPushProgress, formatBytes } from '../../../cli/progress.ts';
import { parseCreds } from '../../../packages-cdk8s/build/credentials.ts';
import { bundleAnnotations, reproducibleCreated, tagForVersion } from '../../../packages-cdk8s/build/push.ts';
import { InvalidCredentialsError, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE } from '../../../source-controller/oci/index.ts';
import type { PackageManifest } from '../../../apply-controller/bundle/index.ts';

const content = 'sha256:' + 'c'.repeat(64);
const config = 'sha256:' + 'a'.repeat(64);

function sink(isTTY: boolean): { write(s: string): void; isTTY: boolean; text: () => string } {
  let text = '';
  return { write: (s: string) => { text += s; }, isTTY, text: () => text };
}

test('without a terminal, progress is one line when a blob starts and one when it is done or already there', (t) => {
  const out = sink(false);
  const progress = createPushProgress(out);
  progress.onProgress({ digest: config, mediaType: TRELLIS_CONFIG_MEDIA_TYPE, sent: 0, total: 10, skipped: true });
  for (const sent of [0, 4096, 8192, 10_000]) progress.onProgress({ digest: content, mediaType: TRELLIS_CONTENT_MEDIA_TYPE, sent, total: 10_000, skipped: false });
  progress.finish([{ digest: config, mediaType: TRELLIS_CONFIG_MEDIA_TYPE, size: 10, uploaded: false }, { digest: content, mediaType: TRELLIS_CONTENT_MEDIA_TYPE, size: 10_000, uploaded: true }]);
  t.deepEqual(out.text().trimEnd().split('\n'), [
    'exists    config sha256:aaaaaaaaaaaa (10 B, already in the registry)',
    'uploading content sha256:cccccccccccc (9.8 KiB)',
    'uploaded  content sha256:cccccccccccc',
  ]);
});

test('on a terminal, progress is drawn as bars', (t) => {
  const out = sink(true);
  const progress = createPushProgress(out, { tty: true });
  progress.onProgress({ digest: content, mediaType: TRELLIS_CONTENT_MEDIA_TYPE, sent: 5000, total: 10_000, skipped: false });
  progress.onProgress({ digest: content, mediaType: TRELLIS_CONTENT_MEDIA_TYPE, sent: 10_000, total: 10_000, skipped: false });
  progress.finish();
  t.regex(out.text(), /content .*\|.*\| 100% 9\.8 KiB\/9\.8 KiB sha256:cccccccccccc/);
  t.notRegex(out.text(), /^uploading/m);
});

test('sizes read like people write them', (t) => {
  t.is(formatBytes(512), '512 B');
  t.is(formatBytes(1536), '1.5 KiB');
  t.is(formatBytes(5 * 1024 * 1024), '5.0 MiB');
});

test('annotations are key=value pairs, a value may contain "="', (t) => {
  t.deepEqual(parseAnnotations(['a=b', 'url=https://x/?q=1', 'empty=']), { a: 'b', url: 'https://x/?q=1', empty: '' });
  t.throws(() => parseAnnotations(['novalue']), { message: /must be key=value/ });
  t.throws(() => parseAnnotations(['=x']), { message: /must be key=value/ });
});

test('--creds is user:password, the password may contain ":", and a malformed one is not echoed', (t) => {
  t.deepEqual(parseCreds('robot:s3:cr3t'), { username: 'robot', password: 's3:cr3t' });
  const err = t.throws(() => parseCreds('only-a-token-value'), { instanceOf: InvalidCredentialsError });
  t.false(err.message.includes('only-a-token-value'));
});

test('tags, creation times and manifest annotations', (t) => {
  t.is(tagForVersion('1.4.0+build.7'), '1.4.0_build.7');
  t.is(reproducibleCreated({}), '1970-01-01T00:00:00Z');
  t.is(reproducibleCreated({ SOURCE_DATE_EPOCH: '1700000000' }), '2023-11-14T22:13:20Z');
  const manifest = { version: '2.0.0' } as PackageManifest;
  t.deepEqual(bundleAnnotations({ manifest, created: 'T', source: 'S', revision: 'R', annotations: { extra: 'x' } }), {
    'org.opencontainers.image.created': 'T', 'org.opencontainers.image.version': '2.0.0',
    'org.opencontainers.image.source': 'S', 'org.opencontainers.image.revision': 'R', extra: 'x',
  });
  t.false('org.opencontainers.image.source' in bundleAnnotations({ manifest }));
});
