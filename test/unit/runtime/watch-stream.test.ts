// The transport's line stream and its idle timer, against a plain local HTTP
// server that writes JSON lines on a schedule (no Kubernetes semantics involved:
// what is tested is the framing and the timer, which a real apiserver cannot be
// made to stall on cue).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import { KubeTransport, RequestCounter } from '../../../runtime/kube-transport.ts';
import { ApiRateLimiter } from '../../../runtime/rate-limit.ts';

/** A server whose one endpoint hands its response to `script`, and a transport pointed at it. */
async function serve(script: (res: ServerResponse) => void): Promise<{ transport: KubeTransport; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    script(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'nobody' }],
    currentContext: 'local',
  });
  const transport = new KubeTransport(kubeConfig, { limiter: new ApiRateLimiter({ qps: 0 }), counter: new RequestCounter() });
  return { transport, server };
}

/** Writes `count` JSON lines, one every `everyMs`, then ends the response or (with `stall`) goes silent. */
function lines(count: number, everyMs: number, stall = false): (res: ServerResponse) => void {
  return (res) => {
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`${JSON.stringify({ type: 'ADDED', n: sent })}\n`);
      sent += 1;
      if (sent < count) return;
      clearInterval(timer);
      if (!stall) res.end();
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

const WATCH = { verb: 'watch', method: 'GET', path: '/stream' } as const;

test('a stream whose lines keep coming outlives its idle timeout many times over', async (t) => {
  // 12 lines 100 ms apart: 1.2 s in all, with an idle timeout of 500 ms that each line starts again.
  const { transport, server } = await serve(lines(12, 100));
  t.teardown(() => server.close());
  const seen: unknown[] = [];
  await transport.stream(WATCH, (line) => seen.push(line), 500);
  t.deepEqual(seen.map((l) => (l as { n: number }).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

test('a stream that goes silent ends with an idle-timeout error, after the lines it sent', async (t) => {
  const { transport, server } = await serve(lines(2, 50, true));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const seen: unknown[] = [];
  const started = performance.now();
  await t.throwsAsync(transport.stream(WATCH, (line) => seen.push(line), 400), { message: 'watch stream idle timeout' });
  t.is(seen.length, 2);
  // The timer ran from the last line (about 100 ms in), not from the start only.
  t.true(performance.now() - started >= 480, `${Math.round(performance.now() - started)} ms`);
});
