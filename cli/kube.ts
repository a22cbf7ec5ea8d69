/**
 * The cluster a CLI command talks to, chosen the way kubectl chooses it:
 * `--kubeconfig`, else `KUBECONFIG` (several files merged), else the in-cluster
 * service account, else `~/.kube/config`; `--context` picks another context; the
 * namespace is `-n`, else the context's namespace, else `default`.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../runtime/kube.ts';
import { loadKubeConfig } from '../runtime/kubeconfig.ts';

/** The kubectl-style flags every cluster command takes. */
export interface KubeFlags {
  /** `--kubeconfig` */
  readonly kubeconfig?: string | undefined;
  /** `--context` */
  readonly context?: string | undefined;
  /** `-n`, `--namespace` */
  readonly namespace?: string | undefined;
}

/** A client and the namespace a command works in. */
export interface KubeTarget {
  readonly kubeConfig: KubeConfig;
  readonly client: KubeClient;
  /** `-n`, else the context's namespace, else `default`. */
  readonly namespace: string;
}

/** The user agent the CLI's requests carry (apiserver audit logs show who wrote). */
export const CLI_USER_AGENT = 'kubectl-package';

/** The namespace a command works in when it is not given `-A`. */
export function namespaceOf(kubeConfig: KubeConfig, flags: KubeFlags): string {
  if (flags.namespace) return flags.namespace;
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return context?.namespace || 'default';
}

/** Loads the kubeconfig and builds a client; throws KubeConfigNotFoundError when there is no cluster to talk to. */
export function connect(flags: KubeFlags, env: NodeJS.ProcessEnv = process.env): KubeTarget {
  const kubeConfig = loadKubeConfig({
    ...(flags.kubeconfig ? { path: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    env,
  });
  // A person waits on every request: a generous client-side rate limit, short timeouts.
  const client = new KubeClient(kubeConfig, { qps: 100, burst: 200, requestTimeoutMs: 30_000, userAgent: CLI_USER_AGENT });
  return { kubeConfig, client, namespace: namespaceOf(kubeConfig, flags) };
}
