// What `kubectl package history -o yaml` prints of a revision: sealed blobs as
// they are, an unsealed one (recorded before sealing, or replaced) never, and
// messages redacted like conditions.
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { revisionForDisplay } from '../../../apply-controller/revisions/show.ts';
import { historyTable } from '../../../cli/package/history.ts';
import { signedRevision } from './support.ts';

const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' }, data: { token: Buffer.from('tok-never-shown').toString('base64') } };

test('history shows sealed records as ciphertext and never an unsealed one; messages are redacted', (t) => {
  const sealed = signedRevision({ revision: 1, phases: [{ name: 'default', objects: [secret] }] });
  t.deepEqual(revisionForDisplay(sealed).spec.phases, sealed.spec.phases);

  const legacy = structuredClone(sealed);
  const plain = gzipSync(JSON.stringify([secret])).toString('base64');
  if (legacy.spec.phases[0]) legacy.spec.phases[0].objects = plain;
  legacy.status = {
    phase: 'Failed', message: 'ConfigMap "cfg" is invalid: data[x]: Invalid value: "pw-secret-value": bad key',
    conditions: [{ type: 'ApplyFailed', status: 'True', reason: 'ApplyFailed', message: 'metadata.labels: Invalid value: "pw-secret-value": bad', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  };
  const shown = revisionForDisplay(legacy);
  const text = JSON.stringify(shown);
  t.false(text.includes(plain));
  t.false(text.includes('pw-secret-value'));
  t.regex(shown.spec.phases[0]?.objects ?? '', /REDACTED: not sealed/);
  t.regex(shown.status?.message ?? '', /Invalid value: \[REDACTED\]: bad key/);
  t.false(historyTable([shown], 1, new Date()).includes('pw-secret-value'));
  t.is(legacy.spec.phases[0]?.objects, plain, 'the revision itself is not changed');
});
