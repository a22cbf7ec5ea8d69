/**
 * Plays the container runtime for the image e2e test: runs one container of a Pod
 * from an unpacked image root with what the kubelet would give it — a private
 * mount namespace where the root is bind-mounted read-only
 * (`readOnlyRootFilesystem`), the OCI runtime spec's default devices (`/dev/null`,
 * `/dev/zero`, … on a tmpfs at `/dev`: Node opens `/dev/null` for a child's ignored
 * stdio), the service-account files, `/etc/hosts`, and the Pod's emptyDirs mounted
 * writable on top; then `unshare --root --wd -S -G`
 * (chroot, the image's WorkingDir, the Pod's runAsUser/runAsGroup) and the
 * container's command, looked up on the image's PATH inside the root. It shares
 * the host's network namespace, so the apiserver on 127.0.0.1 is reachable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../../hack/lib/processes.ts';

/** A bind mount from the host into the container. */
export interface PodMount {
  /** Host path (file or folder). */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly readOnly: boolean;
  readonly kind: 'file' | 'dir';
}

/** One container to run. */
export interface PodContainer {
  readonly name: string;
  /** The unpacked image. Mount points are created in it before it turns read-only, as runc does. */
  readonly root: string;
  readonly workingDir: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly uid: number;
  readonly gid: number;
  readonly mounts: readonly PodMount[];
  readonly logFile: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The devices every OCI runtime gives a container (runtime spec, "Default Devices"). */
const DEFAULT_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** The shell script that sets up the mount namespace and execs the container (exported for the test's log). */
export function containerScript(c: PodContainer): string {
  const root = quote(c.root);
  const lines = [
    'set -eu',
    `mount --bind ${root} ${root}`,
    `mount -o remount,ro,bind ${root}`,
    // A writable tmpfs at /dev, as runc makes it, with the host's device nodes bound onto files in it.
    `mount -t tmpfs -o nosuid,mode=755,size=64k tmpfs ${quote(join(c.root, 'dev'))}`,
    ...DEFAULT_DEVICES.flatMap((d) => {
      const target = quote(join(c.root, 'dev', d));
      return [`: > ${target}`, `mount --bind /dev/${d} ${target}`];
    }),
  ];
  for (const m of c.mounts) {
    const target = quote(join(c.root, m.target));
    lines.push(`mount --bind ${quote(m.source)} ${target}`);
    if (m.readOnly) lines.push(`mount -o remount,ro,bind ${target}`);
  }
  lines.push(`exec unshare --root=${root} --wd=${quote(c.workingDir)} --setuid=${c.uid} --setgid=${c.gid} "$@"`);
  return lines.join('\n');
}

/** Starts the container; its pid is the container's own process once the script has exec'ed. */
export function startContainer(c: PodContainer): ManagedProcess {
  mkdirSync(join(c.root, 'dev'), { recursive: true });
  for (const m of c.mounts) {
    const target = join(c.root, m.target);
    if (m.kind === 'dir') {
      mkdirSync(target, { recursive: true });
    } else {
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, '', { flag: 'a' });
    }
  }
  // The environment is the container's alone (the image's and the Pod's), as a runtime gives it.
  return startProcess(c.name, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', containerScript(c), 'sh', ...c.command], {
    logFile: c.logFile, env: { ...c.env },
  });
}
