/**
 * The local Kubernetes control plane: etcd, kube-apiserver (RBAC, token auth,
 * service-account signing), kube-controller-manager (garbage collection, namespace
 * deletion, workload controllers) and kube-scheduler, on loopback ports chosen at
 * start. State lives in one folder; starting again on the same folder reuses a
 * control plane that is still running, or restarts one on the same etcd data.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { ensureCA, ensureRsaKey, ensureServingCert } from './lib/pki.ts';
import { freePort, isAlive, startProcess, waitFor, type ManagedProcess } from './lib/processes.ts';
import { ensureKubeBinaries } from './lib/system-tools.ts';

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Folder for etcd data, certificates, logs and the admin kubeconfig. */
  readonly dir: string;
  /** Progress lines go here (default: stderr with a `[trellis]` prefix). */
  readonly log?: (line: string) => void;
  /** Run kube-controller-manager (default true). */
  readonly controllerManager?: boolean;
  /** Run kube-scheduler (default true). */
  readonly scheduler?: boolean;
}

/** A running control plane. */
export interface ControlPlane {
  /** Path of a kubeconfig for the cluster admin (group system:masters). */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** The admin bearer token. */
  readonly adminToken: string;
  /** The CA that signed the apiserver's serving certificate. */
  readonly caFile: string;
  /** PIDs of the processes this control plane runs. */
  readonly pids: readonly number[];
  /** Stops every process (the data folder stays). */
  stop(): Promise<void>;
}

interface State {
  server: string;
  adminToken: string;
  pids: number[];
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/**
 * Extra flags for kube-controller-manager from `TRELLIS_KCM_EXTRA_FLAGS`, for
 * diagnostics only (e.g. "--kube-api-qps=300 --kube-api-burst=600", to see
 * whether Kubernetes' own client limit is what a benchmark waits on).
 */
export function controllerManagerExtraFlags(): string[] {
  return (process.env.TRELLIS_KCM_EXTRA_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
}

/** Starts (or reuses) the control plane whose state is in `opts.dir`. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? defaultLog;
  const dir = opts.dir;
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const pki = join(dir, 'pki');
  const ca = ensureCA(pki);
  const kubeconfigPath = join(dir, 'kubeconfig');
  const statePath = join(dir, 'control-plane.json');

  const reused = await reuseRunning(statePath, ca.certFile, kubeconfigPath);
  if (reused) {
    log(`reusing the running control plane at ${reused.server}`);
    return reused;
  }

  const bins = ensureKubeBinaries(log);
  const serving = ensureServingCert(pki, ca, 'apiserver', { ips: ['127.0.0.1'], dns: ['localhost', 'kubernetes', 'kubernetes.default'] });
  const sa = ensureRsaKey(pki, 'service-account');
  const tokenFile = join(pki, 'tokens.csv');
  if (!existsSync(tokenFile)) {
    const token = randomBytes(24).toString('hex');
    writeFileSync(tokenFile, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  }
  const adminToken = readFileSync(tokenFile, 'utf8').split(',')[0] ?? '';

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const started: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of [...started].reverse()) await p.stop();
  };
  try {
    log('starting etcd');
    const etcd = startProcess('etcd', bins.etcd, [
      '--name', 'trellis', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `trellis=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync', '--quota-backend-bytes', String(4 * 1024 ** 3),
    ], { logFile: join(dir, 'logs', 'etcd.log'), env: { ...process.env, ETCD_UNSUPPORTED_ARCH: '' } });
    started.push(etcd);
    await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, { timeoutMs: 30_000, process: etcd });

    log('starting kube-apiserver');
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess('kube-apiserver', bins.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      '--insecure-port=0',
      `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      `--cert-dir=${join(pki, 'apiserver-generated')}`,
      '--authorization-mode=RBAC', `--token-auth-file=${tokenFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${sa.publicKeyFile}`, `--service-account-signing-key-file=${sa.privateKeyFile}`,
      '--service-cluster-ip-range=10.96.0.0/16', '--allow-privileged=true',
      '--v=1',
    ], { logFile: join(dir, 'logs', 'kube-apiserver.log') });
    started.push(apiserver);
    writeKubeconfig(kubeconfigPath, server, adminToken, ca.certFile);
    await waitFor('kube-apiserver /readyz', () => probe(server, '/readyz', adminToken, ca.certFile),
      { timeoutMs: 90_000, process: apiserver });

    if (opts.controllerManager ?? true) {
      log('starting kube-controller-manager');
      started.push(startProcess('kube-controller-manager', bins.kubeControllerManager, [
        `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--port=0', '--secure-port=0',
        `--service-account-private-key-file=${sa.privateKeyFile}`, `--root-ca-file=${ca.certFile}`,
        '--use-service-account-credentials=false', '--concurrent-gc-syncs=5',
        '--controllers=*,-nodeipam,-nodelifecycle,-csrsigning,-bootstrapsigner,-tokencleaner',
        '--v=1',
        ...controllerManagerExtraFlags(),
      ], { logFile: join(dir, 'logs', 'kube-controller-manager.log') }));
    }
    if (opts.scheduler ?? true) {
      log('starting kube-scheduler');
      started.push(startProcess('kube-scheduler', bins.kubeScheduler, [
        `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--port=0', '--secure-port=0', '--v=1',
      ], { logFile: join(dir, 'logs', 'kube-scheduler.log') }));
    }
    const state: State = { server, adminToken, pids: started.map((p) => p.pid) };
    writeFileSync(statePath, JSON.stringify(state, null, 2));
    log(`control plane ready at ${server}`);
    return {
      kubeconfigPath, server, adminToken, caFile: ca.certFile, pids: state.pids,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A control plane started by another process on this folder, if it still answers. */
async function reuseRunning(statePath: string, caFile: string, kubeconfigPath: string): Promise<ControlPlane | undefined> {
  if (!existsSync(statePath)) return undefined;
  let state: State;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as State;
  } catch {
    return undefined;
  }
  if (!state.pids.every(isAlive)) {
    // A partial leftover (the owner was killed): stop what remains and start afresh.
    for (const pid of state.pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    return undefined;
  }
  if (!(await probe(state.server, '/readyz', state.adminToken, caFile).catch(() => false))) return undefined;
  writeKubeconfig(kubeconfigPath, state.server, state.adminToken, caFile);
  return {
    kubeconfigPath, server: state.server, adminToken: state.adminToken, caFile, pids: state.pids,
    async stop() {
      for (const pid of [...state.pids].reverse()) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      await waitFor('control plane to stop', () => Promise.resolve(state.pids.every((p) => !isAlive(p))), { timeoutMs: 15_000 })
        .catch(() => { for (const pid of state.pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL'); });
    },
  };
}

function writeKubeconfig(path: string, server: string, token: string, caFile: string): void {
  const ca = readFileSync(caFile).toString('base64');
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: trellis', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${ca}`,
    'users:', '- name: admin', '  user:', `    token: ${token}`,
    'contexts:', '- name: trellis', '  context:', '    cluster: trellis', '    user: admin',
    'current-context: trellis', '',
  ].join('\n'), { mode: 0o600 });
}

/** GETs `path` on the apiserver; true on HTTP 200. */
function probe(server: string, path: string, token: string, caFile: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, {
      headers: { authorization: `Bearer ${token}` }, ca: readFileSync(caFile), timeout: 5_000,
    }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
