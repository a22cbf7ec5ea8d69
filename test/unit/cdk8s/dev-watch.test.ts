// The dev loop's watcher: native change notifications when they work, polling
// when the native watcher fails or never finishes its first scan.
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { watch, type ChokidarOptions, type FSWatcher } from 'chokidar';
import { openWatcher } from '../../../packages-cdk8s/build/watch.ts';

const never = (): boolean => false;

/** A native watcher that fails as a machine without inotify instances does. */
function failingNative(how: 'error' | 'silent'): FSWatcher {
  const fake = new EventEmitter() as EventEmitter & { close: () => Promise<void>; closed: boolean };
  fake.closed = false;
  fake.close = () => { fake.closed = true; return Promise.resolve(); };
  if (how === 'error') setImmediate(() => fake.emit('error', Object.assign(new Error('EMFILE: too many open files, watch'), { code: 'EMFILE' })));
  return fake as unknown as FSWatcher;
}

test('a native watcher that errors before its first scan is replaced by a polling one that sees changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-watch-'));
  const calls: ChokidarOptions[] = [];
  let native: FSWatcher | undefined;
  const { watcher, pollingBecause } = await openWatcher(dir, {
    ignored: never,
    watchFn: (d, options) => {
      calls.push(options);
      if (options.usePolling !== true) return (native = failingNative('error'));
      return watch(d, options);
    },
  });
  t.teardown(() => watcher.close());
  t.regex(pollingBecause ?? '', /EMFILE/);
  t.is(calls.length, 2);
  t.true(calls[1]?.usePolling);
  t.true((native as unknown as { closed: boolean }).closed, 'the failed native watcher is closed');
  // A poller takes its first look at the folder a little after it says it is ready: a file written
  // before that look is part of what it starts from. Keep writing new files until one is seen.
  t.timeout(60_000);
  const written: string[] = [];
  const seen = new Promise<string>((resolve) => watcher.on('add', resolve));
  const writer = setInterval(() => {
    const file = join(dir, `package-${written.length}.ts`);
    written.push(file);
    writeFileSync(file, 'export {};\n');
  }, 500);
  t.teardown(() => clearInterval(writer));
  const path = await seen;
  clearInterval(writer);
  t.true(written.includes(path), `${path} is one of the files written`);
});

test('a native watcher that never finishes its first scan is replaced after the timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-watch-'));
  const { watcher, pollingBecause } = await openWatcher(dir, {
    ignored: never,
    readyTimeoutMs: 50,
    watchFn: (d, options) => (options.usePolling === true ? watch(d, options) : failingNative('silent')),
  });
  t.teardown(() => watcher.close());
  t.regex(pollingBecause ?? '', /no first scan within 50 ms/);
});

test('a working native watcher is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-watch-'));
  const { watcher, pollingBecause } = await openWatcher(dir, { ignored: never });
  t.teardown(() => watcher.close());
  t.is(pollingBecause, undefined);
  t.false(watcher.options.usePolling);
});
