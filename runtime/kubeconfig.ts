/**
 * Finding the cluster: an explicit kubeconfig file, then `KUBECONFIG`, then the
 * in-cluster service account, then `~/.kube/config` — the order kubectl and
 * client-go use, so the controllers behave the same on a laptop and in a Pod.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Options for {@link loadKubeConfig}. */
export interface KubeConfigOptions {
  /** A kubeconfig file (the `--kubeconfig` flag). */
  readonly path?: string;
  /** A context other than the file's current one. */
  readonly context?: string;
  /** Environment to read `KUBECONFIG` / `KUBERNETES_SERVICE_HOST` from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** A folder prefixed to the standard service account mount (tests; default none). */
  readonly serviceAccountRoot?: string;
}

/** Thrown when no kubeconfig can be found; says where it looked. */
export class KubeConfigNotFoundError extends Error {
  override readonly name = 'KubeConfigNotFoundError';
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The Pod's own service account: the apiserver from KUBERNETES_SERVICE_HOST/PORT,
 * the mounted CA, and the mounted token, re-read as the kubelet rotates it.
 */
function loadInCluster(kc: KubeConfig, env: NodeJS.ProcessEnv, dir: string): void {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  const namespaceFile = join(dir, 'namespace');
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
    contexts: [{
      name: 'in-cluster', cluster: 'in-cluster', user: 'service-account',
      namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
    }],
    currentContext: 'in-cluster',
  });
}

/** Loads a kubeconfig from the first place that has one. */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const kc = new KubeConfig();
  const saRoot = options.serviceAccountRoot ?? '';
  const fromEnv = env.KUBECONFIG?.split(':').filter((p) => p !== '' && existsSync(p)) ?? [];
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (options.path) {
    if (!existsSync(options.path)) throw new KubeConfigNotFoundError(`kubeconfig ${options.path} does not exist`);
    kc.loadFromFile(options.path);
  } else if (fromEnv.length > 0) {
    kc.loadFromFile(fromEnv[0] as string);
    for (const extra of fromEnv.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(extra);
      kc.mergeConfig(more, true);
    }
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${saRoot}${SERVICE_ACCOUNT_DIR}/token`)) {
    loadInCluster(kc, env, `${saRoot}${SERVICE_ACCOUNT_DIR}`);
  } else if (existsSync(home)) {
    kc.loadFromFile(home);
  } else {
    throw new KubeConfigNotFoundError(
      'no kubeconfig: pass --kubeconfig, set KUBECONFIG, run in a Pod with a service account, or create ~/.kube/config');
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new KubeConfigNotFoundError(`context ${options.context} not found`);
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigNotFoundError('the kubeconfig has no current cluster');
  return kc;
}
