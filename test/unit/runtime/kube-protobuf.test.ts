// The protobuf decoders (runtime/kube-protobuf.ts) on hand-built bytes, for the
// cases a live apiserver will not produce on cue: ERROR events, bookmarks, zero
// values JSON omits, fields a newer apiserver adds, and bytes that are not a
// Kubernetes object; and the transport's framing of a protobuf watch stream cut
// at every possible byte. The faithfulness of the whole against the apiserver's
// own JSON is test/integration/runtime/kube-protobuf.test.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import test from 'ava';
import { decodeEnvelope, decodeWatchFrame, hasProtobufDecoder, isProtobufContentType } from '../../../runtime/kube-protobuf.ts';
import { KubeTransport, RequestCounter } from '../../../runtime/kube-transport.ts';
import { ApiRateLimiter } from '../../../runtime/rate-limit.ts';

const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);

/** `k8s\0` + runtime.Unknown{typeMeta, raw, contentEncoding}. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array, contentEncoding = ''): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(apiVersion).tag(2, WireType.LengthDelimited).string(kind).join();
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  if (contentEncoding) w.tag(3, WireType.LengthDelimited).string(contentEncoding);
  return Uint8Array.from([...MAGIC, ...w.finish()]);
}

/** A metav1.WatchEvent frame (no envelope) around an enveloped object. */
function frame(type: string, object: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string(type)
    .tag(2, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(object).join().finish();
}

/** A ConfigMap whose metadata is written by `meta`, with `rest` after it. */
function configMap(meta: (w: BinaryWriter) => void, rest: (w: BinaryWriter) => void = () => {}): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  meta(w);
  w.join();
  rest(w);
  return envelope('v1', 'ConfigMap', w.finish());
}

function time(w: BinaryWriter, field: number, seconds: number | undefined): void {
  w.tag(field, WireType.LengthDelimited).fork();
  if (seconds !== undefined) w.tag(1, WireType.Varint).int64(seconds).tag(2, WireType.Varint).int32(123_000_000);
  w.join();
}

test('a ConfigMap: omitted zero values, times in whole seconds, unknown fields skipped, JSON key order', (t) => {
  const bytes = configMap((w) => {
    w.tag(1, WireType.LengthDelimited).string('app');
    w.tag(2, WireType.LengthDelimited).string(''); // generateName: empty, omitted like JSON's omitempty
    w.tag(3, WireType.LengthDelimited).string('prod');
    w.tag(6, WireType.LengthDelimited).string('42');
    w.tag(7, WireType.Varint).int64(0); // generation 0: omitted
    time(w, 8, 1_767_225_600);
    w.tag(10, WireType.Varint).int64(0); // deletionGracePeriodSeconds is a pointer: 0 is kept
    w.tag(11, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('b').tag(2, WireType.LengthDelimited).string('').join();
    w.tag(11, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('a').tag(2, WireType.LengthDelimited).string('1').join();
    w.tag(99, WireType.LengthDelimited).string('a field from a newer apiserver');
    w.tag(14, WireType.LengthDelimited).string('example.com/hold');
  }, (w) => {
    w.tag(2, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('k').join(); // a value left out is ''
    w.tag(3, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('bin').tag(2, WireType.LengthDelimited).bytes(Uint8Array.from([0, 255])).join();
    w.tag(4, WireType.Varint).bool(false);
  });
  const obj = decodeEnvelope(bytes);
  t.deepEqual(obj, {
    kind: 'ConfigMap', apiVersion: 'v1',
    metadata: {
      name: 'app', namespace: 'prod', resourceVersion: '42', creationTimestamp: '2026-01-01T00:00:00Z',
      deletionGracePeriodSeconds: 0, labels: { b: '', a: '1' }, finalizers: ['example.com/hold'],
    },
    immutable: false, data: { k: '' }, binaryData: { bin: 'AP8=' },
  });
  t.is(JSON.stringify(Object.keys(obj)), '["kind","apiVersion","metadata","immutable","data","binaryData"]');
  t.is(JSON.stringify(Object.keys(obj.metadata as object)),
    '["name","namespace","resourceVersion","creationTimestamp","deletionGracePeriodSeconds","labels","finalizers"]');
});

test('a bookmark has a null creationTimestamp, as in JSON; managedFields can be left undecoded', (t) => {
  const bookmark = decodeWatchFrame(frame('BOOKMARK', configMap((w) => { w.tag(6, WireType.LengthDelimited).string('7'); time(w, 8, undefined); })));
  t.deepEqual(bookmark, { type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '7', creationTimestamp: null } } });
  const withFields = configMap((w) => {
    w.tag(1, WireType.LengthDelimited).string('x');
    w.tag(17, WireType.LengthDelimited).fork()
      .tag(1, WireType.LengthDelimited).string('trellis').tag(2, WireType.LengthDelimited).string('Apply')
      .tag(6, WireType.LengthDelimited).string('FieldsV1')
      .tag(7, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(Buffer.from('{"f:data":{}}')).join()
      .join();
  });
  t.deepEqual((decodeWatchFrame(frame('ADDED', withFields)).object.metadata as { managedFields: unknown }).managedFields,
    [{ manager: 'trellis', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }]);
  t.deepEqual(decodeWatchFrame(frame('ADDED', withFields), { withoutManagedFields: true }).object.metadata, { name: 'x', creationTimestamp: null });
});

test('each event gets its own timestamps, however many share a second', (t) => {
  const stamps = (created: number, deleted: number): unknown => {
    const metadata = decodeEnvelope(configMap((w) => { time(w, 8, created); time(w, 9, deleted); })).metadata as Record<string, unknown>;
    return [metadata.creationTimestamp, metadata.deletionTimestamp];
  };
  t.deepEqual(stamps(1_767_225_600, 1_767_225_600), ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z']);
  t.deepEqual(stamps(1_767_225_600, 1_767_225_661), ['2026-01-01T00:00:00Z', '2026-01-01T00:01:01Z']);
  t.deepEqual(stamps(1_767_225_661, 1_767_225_661), ['2026-01-01T00:01:01Z', '2026-01-01T00:01:01Z']);
  t.deepEqual(stamps(0, 1_767_225_600), ['1970-01-01T00:00:00Z', '2026-01-01T00:00:00Z']);
});

test('an ERROR event carries the Status, as in JSON', (t) => {
  const status = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).fork().join()
    .tag(2, WireType.LengthDelimited).string('Failure')
    .tag(3, WireType.LengthDelimited).string('too old resource version: 1 (5)')
    .tag(4, WireType.LengthDelimited).string('Expired')
    .tag(5, WireType.LengthDelimited).fork().tag(5, WireType.Varint).int32(2)
    .tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('FieldValueInvalid').join().join()
    .tag(6, WireType.Varint).int32(410)
    .finish();
  t.deepEqual(decodeWatchFrame(frame('ERROR', envelope('v1', 'Status', status))), {
    type: 'ERROR',
    object: {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Expired',
      details: { causes: [{ reason: 'FieldValueInvalid' }], retryAfterSeconds: 2 }, code: 410,
    },
  });
});

test('bytes that are not a Kubernetes object of a known kind are refused, not guessed at', (t) => {
  t.throws(() => decodeEnvelope(Buffer.from('{"kind":"ConfigMap"}')), { message: /no k8s envelope/ });
  t.throws(() => decodeEnvelope(envelope('apps/v1', 'Deployment', new Uint8Array())), { message: /no protobuf decoder for apps\/v1 Deployment/ });
  t.throws(() => decodeEnvelope(envelope('v1', 'ConfigMap', new Uint8Array(), 'gzip')), { message: /content encoding gzip/ });
  t.throws(() => decodeWatchFrame(new BinaryWriter().tag(1, WireType.LengthDelimited).string('ADDED').finish()), { message: /ADDED has no object/ });
  t.true(hasProtobufDecoder('v1', 'Secret'));
  t.false(hasProtobufDecoder('apps/v1', 'Deployment'));
  t.false(hasProtobufDecoder('example.com/v1', 'ConfigMap'));
  t.true(isProtobufContentType('application/vnd.kubernetes.protobuf;stream=watch'));
  t.false(isProtobufContentType('application/json'));
});

test('the transport reads a protobuf watch cut at any byte, and reads JSON when the server answers JSON', async (t) => {
  const frames = [0, 1, 2].map((n) => frame('ADDED', configMap((w) => { w.tag(1, WireType.LengthDelimited).string(`cm-${n}`.repeat(n * 4000 + 1)); })));
  const stream = Buffer.concat(frames.flatMap((f) => [Buffer.from([0, 0, 0, 0]), Buffer.from(f)].map((b, i) => {
    if (i === 0) b.writeUInt32BE(f.length);
    return b;
  })));
  let answerJson = false;
  let accept = '';
  const server = createServer((req, res) => {
    accept = req.headers.accept ?? '';
    if (answerJson) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'from-json' } } })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.kubernetes.protobuf;stream=watch' });
    // One byte at a time, so every frame (and every length) is split.
    let at = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 512 && at < stream.length; i += 1, at += 1) res.write(stream.subarray(at, at + 1));
      if (at >= stream.length) { clearInterval(timer); res.end(); }
    }, 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }], contexts: [{ name: 'local', cluster: 'local', user: 'nobody' }], currentContext: 'local',
  });
  const transport = new KubeTransport(kubeConfig, { limiter: new ApiRateLimiter({ qps: 0 }), counter: new RequestCounter() });
  const decoding = {
    accept: 'application/vnd.kubernetes.protobuf;stream=watch', answeredIn: isProtobufContentType,
    decode: (f: Uint8Array) => decodeWatchFrame(f), error: (b: Uint8Array) => decodeEnvelope(b),
  };
  const names: string[] = [];
  const onEvent = (e: unknown): void => { names.push(((e as { object: { metadata: { name: string } } }).object.metadata.name)); };
  await transport.stream({ verb: 'watch', method: 'GET', path: '/w' }, onEvent, 10_000, decoding);
  t.is(accept, 'application/vnd.kubernetes.protobuf;stream=watch, application/json');
  t.deepEqual(names, [0, 1, 2].map((n) => `cm-${n}`.repeat(n * 4000 + 1)));
  answerJson = true;
  names.length = 0;
  await transport.stream({ verb: 'watch', method: 'GET', path: '/w' }, onEvent, 10_000, decoding);
  t.deepEqual(names, ['from-json']);
});
