/**
 * Child process of the OCI workload: one pull the way the source-controller
 * pulls an OCIRepository with `layerSelector.operation: copy` — resolve the
 * tag, fetch and verify the manifest, download the layer with its digest
 * checked while streaming, then store it in ArtifactStorage (copied under its
 * sha256, fsynced, renamed). Timed inside the process (a controller is a
 * long-running process); memory from /proc/self/status before and after.
 * Prints one JSON line.
 *
 * Usage: node bench/child/oci-pull.ts <host> <repository> <tag> <media-type> <work-dir>
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OciClient } from '../../source-controller/oci/index.ts';
import { ArtifactStorage } from '../../source-controller/storage/storage.ts';
import { readProcessMemory } from '../framework/memory.ts';

const [host, repository, tag, mediaType, work] = process.argv.slice(2);
if (!host || !repository || !tag || !mediaType || !work) {
  process.stderr.write('usage: oci-pull.ts <host> <repository> <tag> <media-type> <work-dir>\n');
  process.exit(2);
}
const download = join(work, 'download');
mkdirSync(download, { recursive: true });
const storage = new ArtifactStorage(join(work, 'storage'));
const client = new OciClient({ insecure: true, userAgent: 'trellis-bench' });
const repo = { host, repository };
const before = readProcessMemory('self');
const t0 = performance.now();
const resolved = await client.resolve(repo, { tag });
const pulled = await client.pullArtifact(repo, { digest: resolved.digest }, download, {
  layerSelector: { mediaType, operation: 'copy' },
});
const t1 = performance.now();
const stored = await storage.store('ocirepository', 'bench', 'pull', pulled.file);
const t2 = performance.now();
const after = readProcessMemory('self');
client.close();
rmSync(work, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({
  ms: t2 - t0, pullMs: t1 - t0, storeMs: t2 - t1, size: stored.size, digest: stored.digest,
  layerDigest: pulled.layer.digest, rssBefore: before?.rss ?? 0, hwm: after?.hwm ?? 0,
})}\n`);
