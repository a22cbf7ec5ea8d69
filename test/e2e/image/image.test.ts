// The controllers' image, built without a container engine and proved to run:
// `trellis image build --push` to the real registry; a second build of the same
// sources gives the same digest; an application change uploads only the app layer;
// the image is pulled back with Trellis's OCI client, its SBOM read through the
// referrers tag, its layers unpacked in order (whiteouts honoured) into a root
// filesystem; both controllers start from that root as the shipped Deployments say
// (command, args, uid 65532, read-only root, emptyDirs, in-cluster service-account
// configuration and nothing else), and a Package installed through them becomes Ready;
// so does a Package whose path is a Kustomize overlay, rendered by the kustomize the
// image carries (the same binary, run in the image as uid 65532, prints the same objects).
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync, existsSync, mkdirSync, chownSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import anyTest, { type ExecutionContext } from 'ava';
import { parseAllDocuments, stringify } from 'yaml';
import { statusInventory, type Package } from '../../../apply-controller/api.ts';
import { projectRoot, runImageBuild } from '../../../cli/image/command.ts';
import { MEDIA_TYPES, referrersTag } from '../../../cli/image/oci-image.ts';
import { unpackImage } from '../../../cli/image/unpack.ts';
import { freePort, type ManagedProcess } from '../../../hack/lib/processes.ts';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import { synth } from '../../../packages-cdk8s/kit/index.ts';
import trellis from '../../../packages-cdk8s/trellis/package.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import {
  OciClient, parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE, type OciReference,
} from '../../../source-controller/index.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../../packages-cdk8s/trellis/node-options.ts';
import { forwardFrom } from './address.ts';
import { startContainer, type PodMount } from './pod.ts';
import { snapshotCheckout } from './snapshot.ts';

const test = withServers(withCluster(anyTest));
const run = promisify(execFile);
const sink = { write: (): boolean => true };

/** What the first test leaves for the second: the image in the registry, unpacked. */
interface PulledImage {
  readonly reference: string;
  readonly digest: string;
  readonly root: string;
  readonly config: { User: string; Env: string[]; WorkingDir: string; Entrypoint: string[] };
}
let pulled: PulledImage | undefined;

test.serial('trellis image build: reproducible, pushed with its SBOM, an app change re-pushes one layer, pulled and unpacked', async (t) => {
  t.timeout(25 * 60_000, 'three image builds on a busy 2-core machine (the first may download the .debs)');
  const registry = await useRegistry();
  const snapshot = await snapshotCheckout(projectRoot(), scratchDir('checkout'));
  const epoch = (await run('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: projectRoot() })).stdout.trim();
  const env = { ...process.env, SOURCE_DATE_EPOCH: epoch };
  const ref = `oci://${registry.host}/trellis/controllers:e2e`;

  // 1. The command as a user runs it.
  const cli = await run(process.execPath, [join(projectRoot(), 'cli', 'trellis.ts'), 'image', 'build', '--root', snapshot, '--push', ref, '--insecure'],
    { env, maxBuffer: 16 * 1024 * 1024 });
  const digest = cli.stdout.trim();
  t.regex(digest, /^sha256:[a-f0-9]{64}$/);
  t.log(cli.stderr.split('\n').filter((l) => /^(layer|image|pushed)/.test(l)).join('\n'));
  const size = /: ([\d.]+) MB compressed \(config and 3 layers\)/.exec(cli.stderr);
  t.truthy(size, 'the build reports the compressed size');
  t.true(Number(size?.[1]) < 80, `the image is under 80 MB compressed (${size?.[1]} MB)`);

  // 2. The same sources again, written as an OCI image layout: the same digest.
  const layout = scratchDir('layout');
  process.env.SOURCE_DATE_EPOCH = epoch;
  const again = await runImageBuild({ root: snapshot, output: layout }, sink, sink);
  t.is(again.image.manifest.digest, digest, 'two builds of one commit give one digest');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  t.is(index.manifests[0]?.digest, digest);
  t.true(existsSync(join(layout, 'blobs', 'sha256', digest.slice(7))));
  t.deepEqual(again.image.layers.map((l) => l.name), ['debian', 'node', 'app']);

  // 3. An application change in a later commit: only the app layer (and the config, and the new SBOM) is uploaded.
  // (Code, not a comment: the bundle drops comments.)
  appendFileSync(join(snapshot, 'source-controller', 'main.ts'), "\nexport const APPLICATION_CHANGE = 'e2e';\n");
  process.env.SOURCE_DATE_EPOCH = String(Number(epoch) + 3600);
  const changed = await runImageBuild({ root: snapshot, push: `oci://${registry.host}/trellis/controllers:changed`, insecure: true }, sink, sink);
  const uploaded = new Set(changed.pushed?.blobs.filter((b) => b.uploaded).map((b) => b.digest));
  const [debian, node, app] = changed.image.layers;
  t.false(uploaded.has(debian!.blob.digest), 'the Debian layer is not pushed again');
  t.false(uploaded.has(node!.blob.digest), 'the Node layer is not pushed again');
  t.true(uploaded.has(app!.blob.digest), 'the app layer is pushed');
  t.not(changed.image.manifest.digest, digest);

  // Pull it back with Trellis's own client.
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const repo: OciReference = parseReference(ref);
  const fetched = await oci.fetchManifest(repo, 'e2e');
  t.is(fetched.digest, digest);
  const config = JSON.parse((await oci.fetchBlobBytes(repo, fetched.manifest.config)).toString('utf8')) as {
    config: PulledImage['config']; rootfs: { diff_ids: string[] }; history: { created_by: string }[];
  };
  t.is(config.config.User, '65532:65532');
  t.deepEqual(config.config.Entrypoint, ['node', ...CONTROLLER_NODE_OPTIONS]);
  t.is(config.config.WorkingDir, '/app');
  t.is(config.rootfs.diff_ids.length, 3);

  await checkSbom(t, oci, repo, digest);

  const blobs = scratchDir('blobs');
  const files: string[] = [];
  for (const layer of fetched.manifest.layers) {
    t.is(layer.mediaType, MEDIA_TYPES.layer);
    const file = join(blobs, layer.digest.slice(7));
    await oci.fetchBlob(repo, layer, file);
    files.push(file);
  }
  const root = join(scratchDir('rootfs'), 'root');
  await unpackImage(root, files);
  t.true(existsSync(join(root, 'usr', 'local', 'bin', 'node')));
  t.true(existsSync(join(root, 'app', 'source-controller.mjs')));
  t.true(existsSync(join(root, 'app', 'apply-controller.mjs')));
  t.regex(readFileSync(join(root, 'etc', 'passwd'), 'utf8'), /^nonroot:x:65532:65532:/m);
  t.false(existsSync(join(root, 'app', 'node_modules')), 'the npm packages are inside the bundles: no node_modules');
  t.false(existsSync(join(root, 'app', 'source-controller', 'main.ts')), 'no TypeScript sources: the bundles are what runs');
  t.false(existsSync(join(root, 'bin', 'sh')), 'no shell: distroless');
  t.true(existsSync(join(root, 'usr', 'bin', 'kustomize')), 'kustomize (from Debian trixie) is on the image PATH');
  t.regex(config.history[0]?.created_by ?? '', /kustomize=5\.\S+ \(trixie\)/);
  pulled = { reference: `${registry.host}/trellis/controllers@${digest}`, digest, root, config: config.config };
});

/** The SBOM, found through the referrers tag, lists the Debian and npm packages with versions and licences. */
async function checkSbom(t: ExecutionContext, oci: OciClient, repo: OciReference, digest: string): Promise<void> {
  const referrers = JSON.parse((await oci.fetchManifestBytes(repo, referrersTag(digest))).bytes.toString('utf8')) as {
    manifests: { digest: string; artifactType?: string }[];
  };
  const entry = referrers.manifests.find((m) => m.artifactType === MEDIA_TYPES.spdx);
  t.truthy(entry, 'the referrers index lists the SPDX SBOM');
  const sbomManifest = await oci.fetchManifest(repo, entry!.digest);
  const raw = JSON.parse((await oci.fetchManifestBytes(repo, entry!.digest)).bytes.toString('utf8')) as { subject?: { digest: string } };
  t.is(raw.subject?.digest, digest, 'the SBOM manifest names the image as its subject');
  const doc = JSON.parse((await oci.fetchBlobBytes(repo, sbomManifest.manifest.layers[0]!)).toString('utf8')) as {
    spdxVersion: string; packages: { name: string; versionInfo: string; licenseDeclared: string }[];
  };
  t.is(doc.spdxVersion, 'SPDX-2.3');
  const find = (name: string) => doc.packages.find((p) => p.name === name);
  t.regex(find('libc6')?.versionInfo ?? '', /^2\.\d+/);
  t.regex(find('libc6')?.licenseDeclared ?? '', /LGPL/);
  t.regex(find('tzdata')?.versionInfo ?? '', /^20\d\d/);
  t.regex(find('@kubernetes/client-node')?.versionInfo ?? '', /^\d+\.\d+\.\d+/);
  t.is(find('@kubernetes/client-node')?.licenseDeclared, 'Apache-2.0');
  t.regex(find('node')?.versionInfo ?? '', /^24\./);
  const kustomize = doc.packages.find((p) => p.name === 'kustomize') as { versionInfo: string; licenseDeclared: string; comment?: string;
    externalRefs?: { referenceLocator: string }[] } | undefined;
  t.regex(kustomize?.versionInfo ?? '', /^5\.\d+\.\d+/);
  t.is(kustomize?.licenseDeclared, 'Apache-2.0');
  t.regex(kustomize?.externalRefs?.[0]?.referenceLocator ?? '', /^pkg:deb\/debian\/kustomize@5\.[^?]+\?arch=\w+&distro=debian-13$/);
  t.regex(kustomize?.comment ?? '', /^from Debian trixie/);
  t.falsy(find('typescript'), 'development dependencies are not in the image, nor in its SBOM');
  // A real peer finds it too: oras discovers referrers through the API or, here, the fallback tag.
  const { oras } = ensurePeerTools(() => undefined);
  const discovered = await run(oras, ['discover', '--plain-http', '--format', 'json', `${repo.host}/${repo.repository}@${digest}`],
    { env: { ...process.env, HOME: scratchDir('oras-home') } });
  t.true(discovered.stdout.includes(entry!.digest), 'oras discover lists the SBOM');
  // Distribution 2.8 has no referrers API: the tag above is the spec's fallback. Say what this registry answers.
  const api = await fetch(`http://${repo.host}/v2/${repo.repository}/referrers/${digest}`);
  t.log(`GET /v2/<repo>/referrers/<digest>: HTTP ${api.status} (the fallback tag ${referrersTag(digest)} lists the SBOM)`);
}

interface Container {
  command: string[];
  args: string[];
  env?: { name: string; valueFrom?: unknown; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Deployment extends KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { template: { spec: { containers: Container[]; securityContext: { runAsUser: number; runAsGroup: number } } } };
}

/** Replaces a `--flag=value` argument's value, failing when the shipped args have no such flag. */
function withFlag(args: readonly string[], flag: string, value: string): string[] {
  if (!args.some((a) => a.startsWith(`${flag}=`))) throw new Error(`the shipped args have no ${flag}`);
  return args.map((a) => (a.startsWith(`${flag}=`) ? `${flag}=${value}` : a));
}

/** A ServiceAccount in `ns` bound to cluster-admin, and its token Secret (what the kubelet mounts). */
async function serviceAccountFiles(t: ExecutionContext, admin: KubeClient, ns: string, dir: string): Promise<string> {
  const name = 'trellis-image';
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  const binding = `${ns}-trellis-image`;
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: binding },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
  } as KubeObject);
  t.teardown(async () => { await admin.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: binding }).catch(() => undefined); });
  // Kubernetes 1.20's token controller (kube-controller-manager) writes a token Secret for every ServiceAccount.
  const secret = await eventually(async () => {
    const list = await admin.list<KubeObject & { type?: string; data?: Record<string, string>; metadata: { annotations?: Record<string, string> } }>(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns });
    return list.items.find((s) => s.type === 'kubernetes.io/service-account-token' && s.metadata.annotations?.['kubernetes.io/service-account.name'] === name);
  }, 60_000, 500);
  mkdirSync(dir, { recursive: true });
  for (const key of ['token', 'ca.crt', 'namespace']) {
    writeFileSync(join(dir, key), Buffer.from(secret.data?.[key] ?? '', 'base64'));
  }
  return dir;
}

/** Writes `files` into a tree and pushes it as a Trellis artifact `repo:version`. */
async function pushTree(oci: OciClient, repo: string, name: string, version: string, files: Record<string, string>): Promise<void> {
  const tree = join(scratchDir('bundle'), 'tree');
  writeTree(tree, files);
  const tarball = join(tree, '..', 'content.tar.gz');
  await createDeterministicTarGz(tree, tarball);
  await oci.pushArtifact(parseReference(repo), {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name, version })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball }],
    tag: version,
  });
}

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** Writes a one-ConfigMap Trellis bundle and pushes it as `repo:version`. */
async function pushBundle(oci: OciClient, repo: string, version: string): Promise<void> {
  await pushTree(oci, repo, 'hello', version, {
    'package.yaml': stringify({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'hello', version, phases: ['config'] }),
    'manifests/config.yaml': stringify({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hello-from-the-image', annotations: { 'apply.trellis.dev/phase': 'config' } },
      data: { greeting: 'applied by controllers running from the image' },
    }),
  });
}

/** A plain repository with a base and an overlay: a namePrefix, a strategic-merge patch, a ConfigMap generator. */
const OVERLAY: Record<string, string> = {
  'base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [settings.yaml]\n',
  'base/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: base, team: shop}\n',
  'overlay/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namePrefix: image-', 'resources: [../base]',
    'patches:', '  - patch: |-', '      apiVersion: v1', '      kind: ConfigMap', '      metadata: {name: settings}', '      data: {level: overlay}',
    'configMapGenerator:', '  - name: generated', '    literals: [RENDERED_BY=kustomize-in-the-image]', '',
  ].join('\n'),
};

/**
 * Runs the image's own kustomize on {@link OVERLAY} as a Pod container would: read-only
 * root, uid 65532, the image's environment, `kustomize` found on the image's PATH.
 */
async function kustomizeInImage(image: PulledImage, env: Record<string, string>): Promise<KubeObject[]> {
  const tree = join(scratchDir('overlay-src'), 'tree');
  writeTree(tree, OVERLAY);
  const logFile = join(scratchDir('kustomize-log'), 'container.log');
  const proc = startContainer({
    name: 'image-kustomize', root: image.root, workingDir: '/', command: ['kustomize', 'build', '/work/overlay'], env,
    uid: 65532, gid: 65532, mounts: [{ source: tree, target: '/work', readOnly: true, kind: 'dir' }], logFile,
  });
  const code = await proc.exited;
  const output = readFileSync(logFile, 'utf8');
  if (code !== 0) throw new Error(`kustomize build in the image exited ${String(code)}:\n${output}`);
  return parseAllDocuments(output).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

/** A container the test started, and how it ended once it has. */
interface RunningContainer {
  readonly name: string;
  readonly process: ManagedProcess;
  exited?: number | NodeJS.Signals;
}

/** Polls `check` until it answers, failing at once when a container has exited (a crash is not a slow start). */
async function whileRunning<T>(containers: readonly RunningContainer[], check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const ended = containers.find((c) => c.exited !== undefined);
    if (ended) throw new Error(`${ended.name} exited (${String(ended.exited)}):\n${ended.process.tail(30)}`);
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(500);
  }
}

/** The uid, the root folder and whether `/` is read-only, as the kernel sees the process. */
function processFacts(pid: number): { uid: number; root: string; readOnlyRoot: boolean } {
  const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' '))
    .filter((f) => f[4] === '/').at(-1);
  return { uid, root: readlinkSync(`/proc/${pid}/root`), readOnlyRoot: rootMount?.[5]?.split(',').includes('ro') ?? false };
}

test.serial('both controllers run from the unpacked image as the shipped Deployments say, and install a Package', async (t) => {
  t.timeout(10 * 60_000);
  if (pulled === undefined) {
    t.fail('the image was not built and pulled (see the test before)');
    return;
  }
  const image = pulled;
  t.false(existsSync(join(image.root, 'home', 'nonroot', '.kube')), 'no kubeconfig in the image: only the in-cluster configuration can work');
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const admin = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const apiserver = new URL(cluster.kubeConfig.getCurrentCluster()!.server);
  const secrets = await serviceAccountFiles(t, admin, ns, join(scratchDir('serviceaccount'), 'sa'));
  const deployments = (synth(trellis, { image: image.reference }) as unknown as Deployment[]).filter((o) => o.kind === 'Deployment');

  // The Pods' /etc/hosts: the Service name the source controller advertises artifacts under.
  const hosts = join(scratchDir('etc'), 'hosts');
  const hostnames = new Set<string>();
  const containers: RunningContainer[] = [];
  for (const name of ['source-controller', 'apply-controller']) {
    const deployment = deployments.find((d) => d.metadata.name === name);
    if (!deployment) throw new Error(`the trellis package renders no ${name} Deployment`);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    t.is(container.command[0], 'node', 'the Deployment runs node from the image PATH');
    // One network namespace for both (and the other tests): each listens on free ports instead of 8080/8081/9090/9292.
    const [metrics, health, artifacts] = [await freePort(), await freePort(), await freePort()];
    let args = withFlag(container.args, '--metrics-addr', `:${metrics}`);
    args = withFlag(args, '--health-addr', `:${health}`);
    if (name === 'source-controller') {
      args = withFlag(args, '--artifact-addr', `:${artifacts}`);
      const advertised = container.args.find((a) => a.startsWith('--storage-adv-addr='))!.split('=')[1]!;
      hostnames.add(advertised);
      args = withFlag(args, '--storage-adv-addr', `${advertised}:${artifacts}`);
      args = withFlag(args, '--receiver-addr', `:${await freePort()}`);
    }
    args.push(`--watch-namespace=${ns}`);
    writeFileSync(hosts, `127.0.0.1 localhost\n${[...hostnames].map((h) => `127.0.0.1 ${h}`).join('\n')}\n`);
    const mounts: PodMount[] = [
      { source: secrets, target: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true, kind: 'dir' },
      { source: hosts, target: '/etc/hosts', readOnly: true, kind: 'file' },
      ...(container.volumeMounts ?? []).map((m): PodMount => {
        const dir = scratchDir(`${name}-${m.name}`);
        chownSync(dir, 65532, 65532); // an emptyDir with fsGroup 65532
        return { source: dir, target: m.mountPath, readOnly: false, kind: 'dir' };
      }),
    ];
    const env: Record<string, string> = Object.fromEntries(image.config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    Object.assign(env, {
      HOME: '/home/nonroot', HOSTNAME: `${name}-pod`,
      KUBERNETES_SERVICE_HOST: apiserver.hostname, KUBERNETES_SERVICE_PORT: apiserver.port,
      POD_NAMESPACE: ns, // the Deployment's fieldRef metadata.namespace: the Pod runs (and leases) in the test namespace
    });
    t.truthy(container.env?.some((e) => e.name === 'POD_NAMESPACE'), 'the Deployment sets POD_NAMESPACE');
    const logFile = join(scratchDir(`${name}-log`), 'container.log');
    const proc = startContainer({
      name: `image-${name}`, root: image.root, workingDir: image.config.WorkingDir, command: [...container.command, ...args], env,
      uid: pod.securityContext.runAsUser, gid: pod.securityContext.runAsGroup, mounts, logFile,
    });
    t.teardown(() => proc.stop(15_000));
    const running: RunningContainer = { name, process: proc };
    void proc.exited.then((code) => { running.exited = code; });
    containers.push(running);
    // The readiness probe the Deployment declares, asked as the kubelet would.
    await whileRunning(containers, async () => (await fetch(`http://127.0.0.1:${health}/readyz`)).ok, 120_000)
      .catch((err: unknown) => { throw new Error(`${name} from the image never became ready: ${(err as Error).message}\n${proc.tail(30)}`); });
    const facts = processFacts(proc.pid);
    t.is(facts.uid, 65532, `${name} runs as uid 65532`);
    t.is(facts.root, image.root, `${name} runs chrooted in the unpacked image`);
    t.true(facts.readOnlyRoot, `${name} has a read-only root`);
  }

  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const registryPort = Number(parseReference(`oci://${image.reference}`).host.split(':')[1]);
  const forwarder = await forwardFrom('127.0.0.2', registryPort);
  t.teardown(() => forwarder.close());
  const repo = `oci://${forwarder.host}/e2e/hello`;
  await pushBundle(oci, repo, '1.0.0');
  await admin.create({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'hello', namespace: ns },
    spec: { url: repo, ref: { tag: '1.0.0' }, interval: '1m', insecure: true } } as KubeObject);
  await admin.create({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'hello', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'hello' }, interval: '1m', timeout: '60s' } } as KubeObject);
  t.teardown(async () => {
    // Delete the Package while the apply controller still runs, so its finalizer is released.
    await admin.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'hello' }).catch(() => undefined);
    await eventually(async () => (await admin.get({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'hello' })) === undefined, 60_000, 500)
      .catch(() => undefined);
  });

  const ready = await whileRunning(containers, async () => {
    const pkg = await admin.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'hello' });
    return pkg?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? pkg : undefined;
  }, 180_000).catch((err: unknown) => {
    throw new Error(`the Package did not become Ready: ${(err as Error).message}\n${containers.map((c) => `--- ${c.name}\n${c.process.tail(20)}`).join('\n')}`);
  });
  t.regex(ready.status?.lastAppliedRevision ?? '', /^1\.0\.0@sha256:/);
  const cm = await admin.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'hello-from-the-image' });
  t.is(cm?.data?.greeting, 'applied by controllers running from the image');
  // The controllers wrote as the service account whose token was mounted: the in-cluster configuration at work.
  const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'trellis-apply-controller' });
  t.truthy(lease?.spec?.holderIdentity, 'the apply controller holds its lease in the Pod namespace');

  // A Kustomize overlay: the apply controller renders it with the image's kustomize (its default, `kustomize` on the PATH).
  const imageEnv = Object.fromEntries(image.config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const expected = await kustomizeInImage(image, { ...imageEnv, HOME: '/home/nonroot' });
  t.deepEqual(expected.map((o) => `${o.kind}/${(o.metadata?.name ?? '').replace(/-[a-z0-9]{10}$/, '-<hash>')}`),
    ['ConfigMap/image-generated-<hash>', 'ConfigMap/image-settings'], 'kustomize in the image, as uid 65532, renders the overlay');
  const overlayRepo = `oci://${forwarder.host}/e2e/overlay`;
  await pushTree(oci, overlayRepo, 'overlay', '1.0.0', OVERLAY);
  await admin.create({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'overlay', namespace: ns },
    spec: { url: overlayRepo, ref: { tag: '1.0.0' }, interval: '1m', insecure: true } } as KubeObject);
  await admin.create({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'overlay', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'overlay' }, path: './overlay', interval: '1m', timeout: '60s' } } as KubeObject);
  t.teardown(async () => {
    await admin.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'overlay' }).catch(() => undefined);
    await eventually(async () => (await admin.get({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'overlay' })) === undefined, 60_000, 500)
      .catch(() => undefined);
  });
  const rendered = await whileRunning(containers, async () => {
    const pkg = await admin.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'overlay' });
    const settled = pkg?.status?.conditions?.some((c) => (c.type === 'Ready' || c.type === 'Stalled') && c.status === 'True');
    return settled ? pkg : undefined;
  }, 180_000).catch((err: unknown) => {
    throw new Error(`the overlay Package did not become Ready: ${(err as Error).message}\n${containers.map((c) => `--- ${c.name}\n${c.process.tail(20)}`).join('\n')}`);
  });
  const overlayReady = rendered.status?.conditions?.find((c) => c.type === 'Ready');
  t.is(overlayReady?.status, 'True', `${overlayReady?.reason ?? ''}: ${overlayReady?.message ?? ''}`);
  t.deepEqual(statusInventory(rendered.status).map((e) => e.id).sort(), expected.map((o) => `${ns}_${o.metadata?.name ?? ''}__ConfigMap`).sort(),
    'the controller in the image applied exactly what kustomize in the image prints');
  const settings = await admin.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'image-settings' });
  t.deepEqual(settings?.data, { level: 'overlay', team: 'shop' });
});
