/**
 * Registries and Git servers for tests. Each call starts its own server in a fresh
 * folder under the run folder (so tests never see each other's blobs or repos) and
 * the server is stopped when the test file ends: register the hooks once per file
 * with `withServers(test)`. With `auth`, random credentials are generated; read
 * them from the returned server's `auth`.
 */
import { randomBytes } from 'node:crypto';
import type { TestFn } from 'ava';
import { startGitServer, type GitServer } from '../../hack/git-server.ts';
import { startRegistry, type Registry } from '../../hack/registry.ts';
import { scratchDir } from './cluster.ts';

const running = new Set<{ stop(): Promise<void> }>();

/** Harness progress lines are noise in test output; each server also keeps a log file in its folder. */
const quiet = (): void => undefined;

function randomCredentials(): { username: string; password: string } {
  return { username: `user-${randomBytes(4).toString('hex')}`, password: randomBytes(18).toString('base64url') };
}

function track<S extends { stop(): Promise<void> }>(server: S): S {
  running.add(server);
  return server;
}

/** Starts a registry for this test file (htpasswd auth with random credentials, TLS with a private CA). */
export async function useRegistry(opts: { auth?: boolean; tls?: boolean } = {}): Promise<Registry> {
  return track(await startRegistry({
    dir: scratchDir('registry'),
    ...(opts.auth ? { auth: randomCredentials() } : {}),
    tls: opts.tls ?? false,
    log: quiet,
  }));
}

/** Starts a Git smart-HTTP server for this test file (basic auth with random credentials). */
export async function useGitServer(opts: { auth?: boolean } = {}): Promise<GitServer> {
  return track(await startGitServer({
    dir: scratchDir('git'),
    ...(opts.auth ? { auth: randomCredentials() } : {}),
    log: quiet,
  }));
}

/**
 * Starts `server` again on the same folder, port and credentials, so the same URL
 * serves the same repos (stopping it first if it still runs). To make the server
 * unreachable for a while: `await server.stop()`, test, then `restartGitServer(server)`.
 */
export async function restartGitServer(server: GitServer): Promise<GitServer> {
  await server.stop();
  running.delete(server);
  return track(await startGitServer({
    dir: server.dir,
    port: server.port,
    ...(server.auth ? { auth: server.auth } : {}),
    log: quiet,
  }));
}

/** Stops every server this file started. */
export async function releaseServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((s) => s.stop()));
}

/** Registers the server lifecycle hooks on an AVA test function and returns it. */
export function withServers<T>(test: TestFn<T>): TestFn<T> {
  test.after.always(releaseServers);
  return test;
}
