// Secret values never at rest in clear outside Secrets (issue 14): a Package
// with a Secret of its own and a value taken from a valuesFrom Secret into a
// ConfigMap records revisions in which neither value appears — not in clear,
// not in base64, not inside gzip — nor in the Package's status (whose values
// hash is keyed); a pin still restores both with the Secret and the source
// changed; `kubectl package diff` masks the Secret-sourced value in the ConfigMap;
// the revision key rotates, and a key removed too early is named;
// the apiserver's 422 echoing a Secret-sourced value reaches no status, Event
// or log line.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import anyTest from 'ava';
import { stringify } from 'yaml';
import { revisionSliceResource, packageRevisionResource, type PackageRevision } from '../../../apply-controller/api.ts';
import { MASK, planPackage } from '../../../apply-controller/index.ts';
import { resolveValues } from '../../../apply-controller/bundle/values.ts';
import { RevisionKeyring, REVISION_KEY_SECRET } from '../../../apply-controller/revisions/keys.ts';
import { listRevisions, REVISION_KEY_ANNOTATION } from '../../../apply-controller/revisions/index.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, eventsAbout, getObject, isReadyAt, patchSpec,
  releasePackagesOnTeardown, runLabel, setArtifact, startPackageController, waitForPackage, type PackageTestBed,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
// The revision key of this file's controller lives in a namespace of its own, so rotating it touches no other test.
const keyNamespace = `trellis-keys-${label.value}`;
let bed: PackageTestBed | undefined;
let logFile = '';

test.before(async () => {
  const cluster = await useCluster();
  const publisher = await ArtifactPublisher.start();
  // Read the key Secret on every use: a rotation is seen at once, without waiting for a refresh.
  const revisionKeys = new RevisionKeyring({ client: adminClient(cluster), namespace: keyNamespace, refreshMs: 0 });
  const started = await startPackageController(cluster, label.selector, { revisionKeys });
  bed = { publisher, packages: started.packages, client: started.client };
  logFile = started.logFile;
});

test.after.always(async () => {
  await bed?.packages.stop();
  await bed?.publisher.stop();
  const client = adminClient(await useCluster());
  await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: keyNamespace }).catch(() => undefined);
});

const schema = { type: 'object', properties: { dbPassword: { type: 'string', default: 'none' } } };
const manifest = stringify({
  apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'with-secrets', version: '1.0.0',
  values: {
    schema,
    placements: [{ value: '/dbPassword', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'settings' }, path: '/data/password', template: '${value}' }],
  },
});

function files(token: string): Record<string, string | object[]> {
  return {
    'package.yaml': manifest,
    'manifests/app.yaml': [
      configMap('settings', { password: 'placeholder', mode: 'on' }),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'api' }, type: 'Opaque', data: { token: Buffer.from(token).toString('base64') } },
    ],
  };
}

/** Every form a secret could take in stored bytes: clear, base64 (Secret data), and base64 without padding. */
function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  return [secret, b64, b64.replace(/=+$/, '')];
}

/**
 * Every text `value` holds or decodes to: the JSON text itself, and for every
 * string inside it, its base64 decoding and what that decompresses to, as gzip
 * or brotli, from its start or a little further in (RevisionSlices and inline
 * phases are base64; brotli inside, gzip in older records).
 */
function decodedTexts(value: unknown): string[] {
  const out = [JSON.stringify(value)];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const bytes = Buffer.from(v, 'base64');
      out.push(bytes.toString('utf8'), bytes.toString('latin1'));
      try {
        out.push(gunzipSync(bytes).toString('utf8'));
      } catch { /* not gzip: nothing inside to look at */ }
      // A stream may also start further in (after a header). Brotli has no magic: every offset is tried.
      for (let i = 0; i < Math.min(bytes.length, 64); i += 1) {
        if (i > 0 && bytes[i] === 0x1f && bytes[i + 1] === 0x8b) {
          try {
            out.push(gunzipSync(bytes.subarray(i)).toString('utf8'));
          } catch { /* not gzip */ }
        }
        try {
          out.push(brotliDecompressSync(bytes.subarray(i)).toString('utf8'));
        } catch { /* not brotli */ }
      }
    } else if (Array.isArray(v)) {
      v.forEach(visit);
    } else if (v !== null && typeof v === 'object') {
      Object.values(v).forEach(visit);
    }
  };
  visit(value);
  return out;
}

async function storedRecords(client: KubeClient, ns: string): Promise<KubeObject[]> {
  const revisions = await client.list({ apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind, namespace: ns });
  const slices = await client.list({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns });
  return [...revisions.items, ...slices.items];
}

test('the record scanner itself finds a value in clear, in base64, and inside gzip or brotli behind a header', (t) => {
  const secret = `pw-${randomBytes(8).toString('hex')}`;
  const text = JSON.stringify([{ data: { password: secret } }]);
  const header = Buffer.from('HDR1-some-header');
  for (const blob of [Buffer.from(text), gzipSync(text), brotliCompressSync(text), Buffer.concat([header, gzipSync(text)]), Buffer.concat([header, brotliCompressSync(text)])]) {
    t.true(decodedTexts({ spec: { objects: blob.toString('base64') } }).some((found) => forms(secret).some((form) => found.includes(form))));
  }
});

type Data = { data?: Record<string, string> };

test.serial('no revision byte and no status field holds a Secret value or a Secret-sourced value; a pin restores both with the sources changed', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { 'values.yaml': `dbPassword: ${password}\n` } });
  const v1 = await bed?.publisher.publish(ns, 'src', files(token));
  if (!v1) return t.fail('no test bed');
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, valuesFrom: [{ kind: 'Secret', name: 'creds' }] });
  const ready = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as Data | undefined)?.data?.password, password, 'the value was placed');

  // Every byte of every record, decoded every way it could be.
  const records = await storedRecords(client, ns);
  t.true(records.length >= 1);
  const texts = records.flatMap((r) => decodedTexts(r));
  for (const secret of [token, password]) {
    for (const form of forms(secret)) t.false(texts.some((text) => text.includes(form)), `${form.slice(0, 6)}… is in a stored record`);
  }
  // The status neither: no value, and no unkeyed hash anyone could confirm a guess against.
  const resolved = resolveValues({ schema, valuesFrom: [{ dbPassword: password }] });
  if (!resolved.ok) return t.fail('the values do not resolve');
  const statusTexts = decodedTexts(ready.status);
  for (const form of [...forms(token), ...forms(password), resolved.valuesHash]) t.false(statusTexts.some((text) => text.includes(form)));
  t.regex(ready.status?.lastAttemptedValuesHash ?? '', /^sha256:[0-9a-f]{64}$/);
  const events = JSON.stringify(await eventsAbout(client, ns, 'app'));
  for (const form of [...forms(token), ...forms(password)]) t.false(events.includes(form));
  const [first] = await listRevisions(client, ns, 'app');
  t.is(first?.spec.valuesHash, ready.status?.lastAttemptedValuesHash);
  t.not(first?.spec.valuesHash, resolved.valuesHash);

  // kubectl package diff's plan: the valuesFrom value changing inside a ConfigMap shows as a change, never as a value.
  const password2 = `pw-${randomBytes(12).toString('hex')}`;
  await client.patch({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' }, { stringData: { 'values.yaml': `dbPassword: ${password2}\n` } });
  const plan = await planPackage(ready, { client, source: { artifact: v1 } });
  const settings = plan.changes.find((d) => d.subject === `ConfigMap/${ns}/settings`);
  t.deepEqual(settings?.changes.filter((c) => c.path === '/data/password'), [{ path: '/data/password', op: 'replace', from: MASK, to: MASK }]);
  const shown = JSON.stringify(plan.changes);
  for (const secret of [password, password2, token]) t.false(shown.includes(secret));

  // Both Secrets change, and the source moves on: revision 2 holds the new values.
  const token2 = `tok-${randomBytes(12).toString('hex')}`;
  await client.patch({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' }, { stringData: { 'values.yaml': 'dbPassword: rotated\n' } });
  const v2 = await bed?.publisher.publish(ns, 'src', files(token2));
  if (!v2) return t.fail('no test bed');
  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision) && p.status?.currentRevision === 2);
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as Data | undefined)?.data?.password, 'rotated');

  // The valuesFrom Secret goes; a pin to revision 1 brings back both old values from the sealed record alone.
  await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' });
  await patchSpec(client, ns, 'app', { rollback: { revision: 1 } });
  const pinned = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'Pinned' && p.status?.currentRevision === 1);
  t.is(conditionOf(pinned, 'Ready')?.status, 'True');
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as Data | undefined)?.data?.password, password);
  const secret = await getObject<KubeObject & Data>(client, 'v1', 'Secret', ns, 'api');
  t.is(Buffer.from(secret?.data?.token ?? '', 'base64').toString('utf8'), token);
});

test.serial('the revision key rotates: new revisions use the new key, old ones still restore, and a key removed too early is named', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const v1 = await bed?.publisher.publish(ns, 'src', { 'app.yaml': [configMap('cfg', { v: 'one' })] });
  if (!v1) return t.fail('no test bed');
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  const keyRef = { apiVersion: 'v1', kind: 'Secret', namespace: keyNamespace, name: REVISION_KEY_SECRET };
  const before = await client.get<KubeObject & Data>(keyRef);
  const oldId = Buffer.from(before?.data?.current ?? '', 'base64').toString('utf8');
  const [rev1] = await listRevisions(client, ns, 'app');
  t.is(rev1?.metadata.annotations?.[REVISION_KEY_ANNOTATION], oldId);

  // The admin's rotation: a new entry of 32 random bytes, made current.
  const newId = `rotated-${label.value}`;
  await client.patch(keyRef, { data: { [newId]: randomBytes(32).toString('base64'), current: Buffer.from(newId).toString('base64') } });
  const v2 = await bed?.publisher.publish(ns, 'src', { 'app.yaml': [configMap('cfg', { v: 'two' })] });
  if (!v2) return t.fail('no test bed');
  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision));
  const revs: PackageRevision[] = await listRevisions(client, ns, 'app');
  t.deepEqual(revs.map((r) => r.metadata.annotations?.[REVISION_KEY_ANNOTATION]), [oldId, newId]);

  // Revision 1 is still sealed with the old key, which is kept: the pin works.
  await patchSpec(client, ns, 'app', { rollback: { revision: 1 } });
  await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'Pinned' && p.status?.currentRevision === 1);
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'cfg')) as Data | undefined)?.data?.v, 'one');

  // Back to the source, then the old key removed while revision 1 still needs it: the pin names the missing key.
  await patchSpec(client, ns, 'app', { rollback: null } as never);
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision) && p.status?.currentRevision === 2);
  await client.patch(keyRef, { data: { [oldId]: null } });
  await patchSpec(client, ns, 'app', { rollback: { revision: 1 } });
  const refused = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'RevisionKeyMissing');
  t.regex(conditionOf(refused, 'Ready')?.message ?? '', new RegExp(`revision key "${oldId}" is not in the ${REVISION_KEY_SECRET} Secret`));
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'cfg')) as Data | undefined)?.data?.v, 'two', 'nothing was applied');
});

test.serial('an apply the apiserver refuses for a Secret-sourced value shows the field and the reason, never the value', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  // Not a valid label value (spaces): the apiserver answers 422 and quotes it.
  const leaked = `pw echoed ${randomBytes(8).toString('hex')}`;
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { 'values.yaml': `tier: ${leaked}\n` } });
  const labelled = stringify({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'echo', version: '1.0.0',
    values: {
      schema: { type: 'object', properties: { tier: { type: 'string', default: 'web' } } },
      placements: [{ value: '/tier', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'cfg' }, path: '/metadata/labels/tier', template: '${value}' }],
    },
  });
  const cfg = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', labels: { tier: 'placeholder' } }, data: { a: '1' } };
  const v1 = await bed?.publisher.publish(ns, 'src', { 'package.yaml': labelled, 'manifests/app.yaml': [cfg] });
  if (!v1) return t.fail('no test bed');
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, valuesFrom: [{ kind: 'Secret', name: 'creds' }] });
  const failed = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'ApplyFailed')?.status === 'True');
  const message = conditionOf(failed, 'ApplyFailed')?.message ?? '';
  t.regex(message, /metadata\.labels: Invalid value: \[REDACTED\]/, 'the field and the refusal stay');
  t.false(JSON.stringify(failed.status).includes(leaked));
  // The Event is written after the status: wait for it rather than read once.
  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'app');
    return found.some((e) => e.type === 'Warning') ? found : undefined;
  }, 30_000);
  t.false(JSON.stringify(events).includes(leaked));
  const records = (await storedRecords(client, ns)).flatMap((r) => decodedTexts(r));
  t.false(records.some((text) => text.includes(leaked)), 'nor the failed revision');
  t.false((await readFile(logFile, 'utf8').catch(() => '')).includes(leaked), 'nor the controller log');
});
