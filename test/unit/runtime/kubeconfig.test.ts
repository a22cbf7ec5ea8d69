// Finding the cluster, on files in a temporary folder: an explicit file,
// KUBECONFIG, the in-cluster service account, and clear errors otherwise.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { KubeConfigNotFoundError, loadKubeConfig } from '../../../runtime/kubeconfig.ts';

function kubeconfigFile(dir: string, name: string, server: string): string {
  const path = join(dir, name);
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config',
    'clusters:', `- name: c-${name}`, '  cluster:', `    server: ${server}`,
    'users:', `- name: u-${name}`, '  user:', '    token: abc',
    'contexts:', `- name: ctx-${name}`, '  context:', `    cluster: c-${name}`, `    user: u-${name}`,
    `- name: other-${name}`, '  context:', `    cluster: c-${name}`, `    user: u-${name}`, '    namespace: elsewhere',
    `current-context: ctx-${name}`, '',
  ].join('\n'));
  return path;
}

test('an explicit path wins over KUBECONFIG, and a context can be chosen', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  const explicit = kubeconfigFile(dir, 'explicit', 'https://127.0.0.1:1111');
  const fromEnv = kubeconfigFile(dir, 'env', 'https://127.0.0.1:2222');
  const env = { KUBECONFIG: fromEnv };
  t.is(loadKubeConfig({ path: explicit, env }).getCurrentCluster()?.server, 'https://127.0.0.1:1111');
  t.is(loadKubeConfig({ env }).getCurrentCluster()?.server, 'https://127.0.0.1:2222');
  const other = loadKubeConfig({ path: explicit, context: 'other-explicit', env: {} });
  t.is(other.getContextObject(other.getCurrentContext())?.namespace, 'elsewhere');
  t.throws(() => loadKubeConfig({ path: explicit, context: 'nope', env: {} }), { instanceOf: KubeConfigNotFoundError });
  t.throws(() => loadKubeConfig({ path: join(dir, 'missing'), env: {} }), { instanceOf: KubeConfigNotFoundError });
});

test('KUBECONFIG may list several files; missing ones are skipped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  const first = kubeconfigFile(dir, 'first', 'https://127.0.0.1:3333');
  const second = kubeconfigFile(dir, 'second', 'https://127.0.0.1:4444');
  const kc = loadKubeConfig({ env: { KUBECONFIG: `${join(dir, 'absent')}:${first}:${second}` } });
  t.is(kc.getCurrentCluster()?.server, 'https://127.0.0.1:3333', 'the first existing file sets the context');
  t.truthy(kc.getContextObject('ctx-second'), 'later files are merged in');
});

test('in a Pod, the service account mount and KUBERNETES_SERVICE_HOST are used', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kc-sa-'));
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'sa-token-1');
  writeFileSync(join(sa, 'namespace'), 'trellis-system\n');
  writeFileSync(join(sa, 'ca.crt'), 'not a real CA');
  const kc = loadKubeConfig({
    env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443', HOME: root }, serviceAccountRoot: root,
  });
  t.is(kc.getCurrentCluster()?.server, 'https://[fd00::1]:6443');
  t.is(kc.getContextObject(kc.getCurrentContext())?.namespace, 'trellis-system');
  const opts: { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts);
  t.is(opts.headers?.Authorization, 'Bearer sa-token-1', 'the mounted token authenticates requests');
});

test('with nothing to load, the error says where it looked', (t) => {
  t.throws(() => loadKubeConfig({ env: { HOME: '/nonexistent' }, serviceAccountRoot: '/nonexistent' }),
    { instanceOf: KubeConfigNotFoundError, message: /KUBECONFIG.*service account.*~\/\.kube\/config/ });
  t.throws(() => loadKubeConfig({ env: { HOME: '/nonexistent', KUBERNETES_SERVICE_HOST: '10.0.0.1' }, serviceAccountRoot: '/nonexistent' }),
    { instanceOf: KubeConfigNotFoundError }, 'KUBERNETES_SERVICE_HOST alone, without a mounted token, is not enough');
});
