// The slow background verification (apply-controller/drift/verify.ts) against the real apiserver: a
// mutating admission webhook registered after a Package was applied changes nothing the watch can
// see, yet the apiserver would now make something else of the same intent. The engine's local
// decisions cannot know; the verification's server-side dry runs find it and correct it, and they
// write nothing while the apiserver's answer is what is live.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import anyTest, { type ExecutionContext } from 'ava';
import { ensureCA, ensureServingCert } from '../../../hack/lib/pki.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import type { Package } from '../../../apply-controller/api.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, eventsAbout, getObject, isReadyAt, patchSpec, releasePackagesOnTeardown,
  runLabel, usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const VERIFY_INTERVAL_MS = 1_500;
const bed = usePackageTestBed(test, label, { driftVerifyIntervalMs: VERIFY_INTERVAL_MS });

const INJECTED = 'verify.trellis.dev/injected';

interface AdmissionRequest { uid: string; operation: string; dryRun?: boolean; object?: KubeObject }

/** An HTTPS admission webhook that adds the annotation {@link INJECTED} to every object it is asked about. */
async function startMutatingWebhook(): Promise<{ server: Server; url: string; caBundle: string; seen: AdmissionRequest[] }> {
  const dir = scratchDir('webhook-pki');
  const ca = ensureCA(dir, 'trellis-test-webhook-ca');
  const serving = ensureServingCert(dir, ca, 'webhook');
  const seen: AdmissionRequest[] = [];
  const server = createServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: AdmissionRequest };
      seen.push(review.request);
      const annotations = review.request.object?.metadata?.annotations;
      const patch = annotations === undefined
        ? [{ op: 'add', path: '/metadata/annotations', value: { [INJECTED]: 'by-webhook' } }]
        : [{ op: 'add', path: `/metadata/annotations/${INJECTED.replace('/', '~1')}`, value: 'by-webhook' }];
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}/mutate`, caBundle: readFileSync(ca.certFile).toString('base64'), seen };
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

/**
 * Applies two ConfigMaps with Package `app` (then `pin`s it to its revision 1 when asked), registers the
 * webhook, and checks that the verification finds and applies its change, once.
 */
async function webhookFoundAndApplied(t: ExecutionContext, opts: { pin: boolean }): Promise<void> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  // Only this test's objects are sent to the webhook (the cluster is shared).
  const selected = { 'verify.trellis.dev/run': randomBytes(4).toString('hex') };
  const objects = ['one', 'two'].map((name) => {
    const cm = configMap(name, { k: name }) as ConfigMap;
    return { ...cm, metadata: { ...cm.metadata, labels: selected } };
  });
  const artifact = await bed().publisher.publish(ns, 'src', { 'app.yaml': objects });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  const settled = (p: Package): boolean => (opts.pin ? conditionOf(p, 'Ready')?.reason === 'Pinned' && p.status?.currentRevision === 1
    : isReadyAt(p, artifact.revision));
  if (opts.pin) {
    await patchSpec(client, ns, 'app', { rollback: { revision: 1 } });
    await waitForPackage(client, ns, 'app', settled);
  }
  const versions = async (): Promise<(string | undefined)[]> =>
    Promise.all(['one', 'two'].map(async (name) => (await getObject(client, 'v1', 'ConfigMap', ns, name))?.metadata?.resourceVersion));

  // Several passes over objects the apiserver would leave as they are: nothing is written.
  const before = await versions();
  await new Promise((resolve) => setTimeout(resolve, 3 * VERIFY_INTERVAL_MS));
  t.deepEqual(await versions(), before, 'a dry run that changes nothing writes nothing');
  t.false((await eventsAbout(client, ns, 'app')).some((e) => e.reason === 'DriftCorrected'));

  const webhook = await startMutatingWebhook();
  t.teardown(() => new Promise<void>((resolve) => { webhook.server.close(() => resolve()); }));
  const hook = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: { name: `trellis-test-verify-${selected['verify.trellis.dev/run']}` },
    webhooks: [{
      name: 'inject.verify.trellis.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
      clientConfig: { url: webhook.url, caBundle: webhook.caBundle },
      objectSelector: { matchLabels: selected },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }],
    }],
  };
  await client.create(hook);
  t.teardown(() => client.delete({ apiVersion: hook.apiVersion, kind: hook.kind, name: hook.metadata.name }).then(() => undefined));

  // No write happened, so no watch event: only the verification can notice.
  const corrected = await eventually(async () => {
    const all = await Promise.all(['one', 'two'].map((name) => getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, name)));
    return all.every((cm) => cm?.metadata?.annotations?.[INJECTED] === 'by-webhook') ? all : undefined;
  }, 60_000, 100);
  t.deepEqual(corrected.map((cm) => cm?.data?.k), ['one', 'two']);
  t.true(webhook.seen.some((r) => r.dryRun === true && r.operation === 'UPDATE'), 'found by a server-side dry run');
  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'app');
    return found.some((e) => e.reason === 'DriftCorrected') ? found : undefined;
  });
  t.true(events.some((e) => e.reason === 'DriftCorrected' && e.note.includes('ConfigMap')), JSON.stringify(events));

  // What the webhook makes of the intent is now what is live: later passes write nothing.
  const after = await versions();
  await new Promise((resolve) => setTimeout(resolve, 3 * VERIFY_INTERVAL_MS));
  t.deepEqual(await versions(), after, 'no write after the correction');
  const pkg = await waitForPackage(client, ns, 'app', settled);
  t.is(pkg.status?.lastAppliedRevision, artifact.revision);
}

test('a webhook added after the apply is found by the verification\'s dry runs and its change applied, once', async (t) => {
  await webhookFoundAndApplied(t, { pin: false });
});

test('a pinned Package is verified too', async (t) => {
  // A pin holds one revision's objects; a webhook added meanwhile must not go unnoticed for as long as the pin stays.
  await webhookFoundAndApplied(t, { pin: true });
});
