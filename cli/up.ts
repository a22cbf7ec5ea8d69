/**
 * `trellis up` (what `npm start` runs): the local control plane with its simulated
 * node, and a local OCI registry, in the foreground until Ctrl-C. State persists in
 * the folder (default `.trellis/`), so running it again keeps etcd data and images.
 */
import { Command } from 'commander';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startLocalCluster } from '../hack/local-cluster.ts';
import { startRegistry } from '../hack/registry.ts';

/** Options of `trellis up`. */
export interface UpOptions {
  readonly dir: string;
}

const say = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Starts the local environment and resolves once Ctrl-C (or SIGTERM) stopped it. */
export async function up(opts: UpOptions): Promise<void> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const cluster = await startLocalCluster({ dir: join(dir, 'cluster'), log: say });
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    registry = await startRegistry({ dir: join(dir, 'registry'), log: say });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  copyFileSync(cluster.kubeconfigPath, kubeconfig);
  const envFile = join(dir, 'env');
  writeFileSync(envFile, `export KUBECONFIG=${kubeconfig}\nexport TRELLIS_REGISTRY=${registry.host}\n`);
  process.stdout.write(`KUBECONFIG=${kubeconfig}\nTRELLIS_REGISTRY=${registry.host}\n`);
  say(`ready. In another terminal: source ${envFile} && kubectl get ns   (Ctrl-C stops everything)`);

  await new Promise<void>((done) => {
    const stop = (): void => {
      say('stopping');
      void (async () => {
        await registry?.stop();
        await cluster.stop();
        done();
      })();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The `up` subcommand. */
export function upCommand(): Command {
  return new Command('up')
    .description('run Trellis on an embedded local cluster (control plane, simulated node, registry)')
    .option('--dir <dir>', 'state folder (kubeconfig, env, etcd data, registry storage)', '.trellis')
    .addHelpText('after', '\nExample:\n  trellis up --dir .trellis\n  source .trellis/env && kubectl get ns')
    .action(async (o: { dir: string }) => { await up({ dir: o.dir }); });
}
