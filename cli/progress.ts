/**
 * Upload progress for `trellis push` and `trellis dev`: a bar per blob on a
 * terminal (cli-progress), plain lines otherwise (CI logs), one when a blob
 * starts and one when it is done or found already in the registry.
 */
import cliProgress from 'cli-progress';
import {
  TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE, type PushedArtifactBlob, type PushProgress,
} from '../source-controller/index.ts';

/** Receives a push's progress events and closes the display when the push ends. */
export interface PushProgressReporter {
  readonly onProgress: (progress: PushProgress) => void;
  /** Ends the display; with the push's blobs it also reports those not seen yet (plain mode). */
  finish(blobs?: readonly PushedArtifactBlob[]): void;
}

/** What the output stream must offer. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** A blob's role for people: `config`, `content`, or its media type. */
export function blobLabel(mediaType: string): string {
  if (mediaType === TRELLIS_CONFIG_MEDIA_TYPE) return 'config';
  if (mediaType === TRELLIS_CONTENT_MEDIA_TYPE) return 'content';
  return mediaType;
}

/** `1.2 KiB`, `3.4 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]!}`;
}

const short = (digest: string): string => digest.slice(0, 19);

/** A reporter for `stream`: bars when it is a terminal (or `tty` says so), lines otherwise. */
export function createPushProgress(stream: ProgressStream, opts: { tty?: boolean } = {}): PushProgressReporter {
  return (opts.tty ?? stream.isTTY === true) ? barReporter(stream) : lineReporter(stream);
}

function lineReporter(stream: ProgressStream): PushProgressReporter {
  const started = new Set<string>();
  const done = new Set<string>();
  const say = (line: string): void => { stream.write(`${line}\n`); };
  return {
    onProgress(p) {
      const label = blobLabel(p.mediaType);
      if (p.skipped) {
        if (!done.has(p.digest)) say(`exists    ${label} ${short(p.digest)} (${formatBytes(p.total)}, already in the registry)`);
        done.add(p.digest);
        return;
      }
      if (!started.has(p.digest)) {
        started.add(p.digest);
        say(`uploading ${label} ${short(p.digest)} (${formatBytes(p.total)})`);
      }
      if (p.sent >= p.total && !done.has(p.digest)) {
        done.add(p.digest);
        say(`uploaded  ${label} ${short(p.digest)}`);
      }
    },
    finish(blobs = []) {
      for (const b of blobs) {
        if (done.has(b.digest)) continue;
        done.add(b.digest);
        say(`${b.uploaded ? 'uploaded ' : 'exists   '} ${blobLabel(b.mediaType)} ${short(b.digest)} (${formatBytes(b.size)})`);
      }
    },
  };
}

function barReporter(stream: ProgressStream): PushProgressReporter {
  const multi = new cliProgress.MultiBar({
    stream: stream as NodeJS.WritableStream,
    format: '{label} |{bar}| {percentage}% {sent}/{size} {digest}',
    hideCursor: true,
    barsize: 24,
    clearOnComplete: false,
    noTTYOutput: false,
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    onProgress(p) {
      let bar = bars.get(p.digest);
      const payload = {
        label: blobLabel(p.mediaType).padEnd(7), digest: short(p.digest) + (p.skipped ? ' (exists)' : ''),
        sent: formatBytes(p.skipped ? p.total : p.sent), size: formatBytes(p.total),
      };
      if (!bar) {
        bar = multi.create(Math.max(p.total, 1), 0, payload);
        bars.set(p.digest, bar);
      }
      bar.update(p.skipped ? Math.max(p.total, 1) : p.sent, payload);
    },
    finish() {
      multi.stop();
    },
  };
}
