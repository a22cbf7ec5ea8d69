/**
 * Workload 6, OCI: pulling a 50 MB single-layer artifact from the local
 * registry into storage, the way the source-controller does it, against
 * `skopeo copy docker://… dir:` and `oras pull`; all three verify digests. The
 * Trellis pull runs in a child process whose memory before and after tells the
 * RSS growth of the pull.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePeerTools, ensureSkopeo } from '../../hack/peer-tools.ts';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { OciClient } from '../../source-controller/oci/index.ts';
import { runNodeScript, runTimed } from '../framework/commands.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatMiB, formatRatio, median, ratio } from '../framework/stats.ts';
import { atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';

const SIZE = 50 * 1024 * 1024;
const PULL = 'pull 50 MiB into storage';
const PEAK = 'peak RSS of the puller';
const GROWTH = 'RSS growth during the pull';
/** An image layer media type every client knows; Trellis picks it with a layerSelector (copy). */
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MIB = 1024 * 1024;

interface PullResult {
  ms: number;
  pullMs: number;
  storeMs: number;
  size: number;
  rssBefore: number;
  hwm: number;
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const registry = await ctx.env.registry();
  const { oras } = ensurePeerTools(ctx.log);
  const skopeo = ensureSkopeo(ctx.log);
  mkdirSync(ctx.dir, { recursive: true });

  // Random bytes: nothing to gain from compression, the same bytes for every client.
  const blobFile = join(ctx.dir, 'blob.bin');
  writeFileSync(blobFile, randomBytes(SIZE));
  const repository = 'bench/blob50';
  const tag = 'v1';
  const client = new OciClient({ insecure: true });
  // A plain image config, so skopeo (which reads the config of what it copies) accepts it as an image.
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  ctx.log('pushing a 50 MiB artifact');
  await client.pushArtifact({ host: registry.host, repository }, {
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', bytes: config },
    layers: [{ mediaType: LAYER_TYPE, file: blobFile, title: 'blob.bin' }],
    tag,
  });
  client.close();
  rmSync(blobFile);
  const ref = `${registry.host}/${repository}:${tag}`;
  const child = join(projectRoot, 'bench', 'child', 'oci-pull.ts');
  const results: PullResult[] = [];
  let n = 0;
  const scratch = (): string => join(ctx.dir, `run-${++n}`);

  const contenders: Contender[] = [
    {
      name: 'Trellis (OciClient.pullArtifact + ArtifactStorage.store)', role: 'trellis',
      metrics: { [PULL]: 'ms', [PEAK]: 'bytes', [GROWTH]: 'bytes' },
      async run() {
        const r = await runNodeScript<PullResult>(child, [registry.host, repository, tag, LAYER_TYPE, scratch()]);
        if (r.size !== SIZE) throw new Error(`Trellis stored ${r.size} bytes, not ${SIZE}`);
        results.push(r);
        return { [PULL]: r.ms, [PEAK]: r.hwm, [GROWTH]: Math.max(0, r.hwm - r.rssBefore) };
      },
    },
    {
      name: 'skopeo copy docker:// dir:', role: 'peer', metrics: { [PULL]: 'ms', [PEAK]: 'bytes' },
      async run() {
        const dir = scratch();
        const r = await runTimed(skopeo, ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);
        rmSync(dir, { recursive: true, force: true });
        return { [PULL]: r.ms, [PEAK]: r.peakRss };
      },
    },
    {
      name: 'oras pull --plain-http', role: 'peer', metrics: { [PULL]: 'ms', [PEAK]: 'bytes' },
      async run() {
        const dir = scratch();
        mkdirSync(dir);
        const r = await runTimed(oras, ['pull', '--plain-http', '--no-tty', '-o', dir, ref], { env: { ...process.env, HOME: ctx.dir } });
        rmSync(dir, { recursive: true, force: true });
        return { [PULL]: r.ms, [PEAK]: r.peakRss };
      },
    },
  ];
  const measurements = await runAlternately(contenders, { rounds: ctx.rounds, warmup: 1, log: ctx.log });

  const medianFor = (contender: string, metric: string): number | undefined => {
    const m = measurements.find((x) => x.contender === contender && x.metric === metric);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  const trellis = medianFor(contenders[0]!.name, PULL);
  const peers = [medianFor(contenders[1]!.name, PULL), medianFor(contenders[2]!.name, PULL)].filter((v) => v !== undefined);
  const fastestPeer = peers.length > 0 ? Math.min(...peers) : undefined;
  const speed = trellis !== undefined && fastestPeer !== undefined ? ratio(trellis, fastestPeer) : undefined;
  const recorded = results.slice(1);
  const growth = medianFor(contenders[0]!.name, GROWTH);
  return {
    measurements,
    goals: [
      atMost(PULL, '≤ 1.0× the faster of skopeo and oras', speed, 1.0, formatRatio),
      atMost(GROWTH, 'RSS growth ≤ 64 MiB (streamed)', growth, 64 * MIB, formatMiB),
    ],
    notes: recorded.length === 0 ? [] : [
      `Trellis pull breakdown (medians): download with digest check ${formatDuration(median(recorded.map((r) => r.pullMs)))}, `
        + `store (copy under its sha256, fsync, rename) ${formatDuration(median(recorded.map((r) => r.storeMs)))}. `
        + 'Trellis is timed inside its process (a controller is long-running); skopeo and oras include their process start-up. '
        + 'Peak RSS of the peers is sampled every 50 ms; Trellis\'s is VmHWM, which includes Node itself (its RSS before the pull: '
        + `${formatMiB(median(recorded.map((r) => r.rssBefore)))}).`,
    ],
  };
}

/** Workload 6. */
export const workload: Workload = {
  name: 'oci',
  number: 6,
  title: 'OCI pull',
  description: 'A 50 MiB single-layer artifact in the local registry: the source-controller\'s pull (resolve, verified download, store) vs skopeo copy docker:// dir: and oras pull; RSS growth of the Trellis pull.',
  goal: '≤ 1.0× the faster of skopeo and oras; RSS growth ≤ 64 MiB',
  defaultRounds: 5,
  run,
};
