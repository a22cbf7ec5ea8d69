/**
 * A private local cluster for the install tests: `trellis install` writes
 * cluster-wide objects (CRDs, ClusterRoles) and `trellis uninstall` deletes every
 * Package and the CRDs, which would pull the floor from under every other test
 * file sharing the run's cluster. Also: kubeconfigs that authenticate as a
 * service account with its token (the tokens controller of
 * kube-controller-manager writes one Secret per account, as 1.20 does).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster } from '../../../hack/local-cluster.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir } from '../../support/cluster.ts';
import { captureTerminal, type CapturedTerminal } from '../../../cli/package/output.ts';
import type { CommandIO } from '../../../cli/package/context.ts';

/** A started private cluster with an admin client. */
export interface PrivateCluster {
  readonly cluster: LocalCluster;
  readonly admin: KubeClient;
  readonly kubeConfig: KubeConfig;
}

/** Starts a private cluster (stop it with `cluster.stop()`). */
export async function startPrivateCluster(name: string): Promise<PrivateCluster> {
  const cluster = await startLocalCluster({ dir: scratchDir(name), log: () => undefined });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  return { cluster, admin: new KubeClient(kubeConfig), kubeConfig };
}

/** Writes a kubeconfig that authenticates as `namespace/account` with its token; returns its path. */
export async function serviceAccountKubeconfig(pc: PrivateCluster, namespace: string, account: string): Promise<string> {
  const token = await eventually(async () => {
    const sa = await pc.admin.get<KubeObject & { secrets?: { name: string }[] }>({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name: account });
    const secretName = sa?.secrets?.[0]?.name;
    if (!secretName) return undefined;
    const secret = await pc.admin.get<KubeObject & { data?: { token?: string } }>({ apiVersion: 'v1', kind: 'Secret', namespace, name: secretName });
    return secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
  }, 60_000, 250);
  const path = join(scratchDir(`kubeconfig-${account}`), 'kubeconfig');
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: sa',
    'clusters:', '- name: local', '  cluster:', `    server: ${pc.cluster.server}`, `    certificate-authority: ${pc.cluster.caFile}`,
    'users:', `- name: ${account}`, '  user:', `    token: ${token}`,
    'contexts:', '- name: sa', '  context:', '    cluster: local', `    user: ${account}`,
  ].join('\n'), { mode: 0o600 });
  return path;
}

/** A CommandIO that keeps the output and the exit code. */
export function captureIO(): CommandIO & { term: CapturedTerminal; code(): number | undefined } {
  let exitCode: number | undefined;
  return { term: captureTerminal(), env: {}, now: () => new Date(), exit: (c) => { exitCode = c; }, code: () => exitCode };
}
