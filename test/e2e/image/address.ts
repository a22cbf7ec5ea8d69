/**
 * A second loopback address for the registry. The test's Pods share the host's
 * network namespace, where KUBERNETES_SERVICE_HOST is 127.0.0.1 (the address the
 * apiserver's certificate names); the source controller denies that address on
 * every port, as it denies the `kubernetes` Service's ClusterIP in a cluster (an
 * OCIRepository must not reach the apiserver). So the registry is reached at
 * 127.0.0.2 through this TCP forwarder, as a registry elsewhere would have an
 * address of its own.
 */
import { connect, createServer, type Socket } from 'node:net';

/** A running forwarder. */
export interface AddressForwarder {
  /** `127.0.0.2:<port>` */
  readonly host: string;
  close(): Promise<void>;
}

/** Listens on `listenAddress` (a free port) and pipes every connection to 127.0.0.1:`targetPort`. */
export async function forwardFrom(listenAddress: string, targetPort: number): Promise<AddressForwarder> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenAddress, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the forwarder has no TCP address');
  return {
    host: `${listenAddress}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
