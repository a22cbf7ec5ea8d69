/**
 * A loopback TCP forwarder that gives the local registry a stable address.
 * hack/registry.ts picks a fresh port whenever it starts a registry process,
 * but the address ends up in places that outlive a run — `TRELLIS_REGISTRY` in
 * a user's shell, `spec.url` of OCIRepositories in etcd — so `trellis up`
 * listens on the port it used last time and forwards every connection, byte
 * for byte, to wherever the registry runs now. (The registry builds upload
 * URLs from the request's Host header, so they name the stable port too.)
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running forwarder. */
export interface Forwarder {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: any free port) and forwards to 127.0.0.1:`targetPort`. */
export async function startForwarder(port: number, targetPort: number): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side failing ends both: a half-open pair would hang the client.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
