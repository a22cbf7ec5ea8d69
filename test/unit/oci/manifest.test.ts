// Manifest validation, platform selection, layer selection and the ORAS-style
// manifest builder, on plain bytes.
import test from 'ava';
import {
  FLUX_CONTENT_MEDIA_TYPE, LayerSelectionError, ManifestInvalidError, OCI_EMPTY_DIGEST, OCI_EMPTY_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, PlatformSelectionError, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE,
  TRELLIS_CONTENT_MEDIA_TYPE, buildArtifactManifest, digestOf, parseManifest, selectLayer, selectPlatform,
  type ImageManifest,
} from '../../../source-controller/oci/index.ts';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const bytes = (doc: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));
const manifestDoc = (layers: Array<{ mediaType: string; digest?: string; size?: number }>, extra: object = {}) => ({
  schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, artifactType: TRELLIS_ARTIFACT_TYPE,
  config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, digest: d('c'), size: 10 },
  layers: layers.map((l, i) => ({ digest: d(String(i)), size: 100 + i, ...l })),
  annotations: { 'org.opencontainers.image.version': '1.0.0' },
  ...extra,
});
const parseOne = (doc: unknown): ImageManifest => {
  const m = parseManifest(bytes(doc), undefined, 'manifest r/x:1');
  if (m.kind !== 'manifest') throw new Error('expected a manifest');
  return m;
};

test('a Trellis artifact manifest is parsed with its config, layers and annotations', (t) => {
  const m = parseOne(manifestDoc([{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE }]));
  t.is(m.artifactType, TRELLIS_ARTIFACT_TYPE);
  t.is(m.config.mediaType, TRELLIS_CONFIG_MEDIA_TYPE);
  t.deepEqual(m.layers.map((l) => [l.mediaType, l.size]), [[TRELLIS_CONTENT_MEDIA_TYPE, 100]]);
  t.is(m.annotations['org.opencontainers.image.version'], '1.0.0');
});

test('the Content-Type decides the format when the document has no mediaType', (t) => {
  const doc = { schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: d('1'), size: 5 }] };
  t.is(parseManifest(bytes(doc), `${OCI_INDEX_MEDIA_TYPE}; charset=utf-8`, 'm').kind, 'index');
  t.is(parseManifest(bytes(doc), 'application/json', 'm').kind, 'index', 'guessed from "manifests"');
});

const invalid: Array<[string, Uint8Array, RegExp]> = [
  ['not JSON', new TextEncoder().encode('this is not json'), /is not valid JSON/],
  ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /is not valid JSON/],
  ['a JSON array', bytes([1, 2]), /not a JSON object/],
  ['schemaVersion 1', bytes({ ...manifestDoc([]), schemaVersion: 1 }), /schemaVersion 1; only 2/],
  ['no schemaVersion', bytes({ layers: [] }), /schemaVersion missing/],
  ['schema 1 media type', bytes({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }), /schema 1/],
  ['unknown media type', bytes({ ...manifestDoc([]), mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }), /unsupported media type/],
  ['no layers', bytes({ ...manifestDoc([]), layers: undefined }), /"layers" array/],
  ['bad layer digest', bytes(manifestDoc([{ mediaType: 'x', digest: 'sha256:zz' }])), /layers\[0\] has an invalid digest/],
  ['negative size', bytes(manifestDoc([{ mediaType: 'x', size: -4 }])), /layers\[0\] has an invalid size -4/],
  ['config missing', bytes({ ...manifestDoc([]), config: undefined }), /config is not a descriptor/],
  ['annotation not a string', bytes({ ...manifestDoc([]), annotations: { a: 1 } }), /"a" is not a string/],
];
for (const [name, input, message] of invalid) {
  test(`ManifestInvalid: ${name}`, (t) => {
    const err = t.throws(() => parseManifest(input, OCI_MANIFEST_MEDIA_TYPE, 'manifest r/x:1'), { instanceOf: ManifestInvalidError });
    t.regex(err.message, message);
    t.regex(err.message, /manifest r\/x:1/);
  });
}

test('an index needs a platform; the matching entry is chosen', (t) => {
  const index = parseManifest(bytes({
    schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [
      { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: d('1'), size: 5, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: d('2'), size: 5, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  }), undefined, 'manifest r/x:1');
  if (index.kind !== 'index') return t.fail();
  const none = t.throws(() => selectPlatform(index, undefined, 'manifest r/x:1'), { instanceOf: PlatformSelectionError });
  t.regex(none.message, /image index \(platforms: linux\/amd64, linux\/arm64\/v8\); select a platform/);
  t.is(selectPlatform(index, { os: 'linux', architecture: 'arm64' }, 'm').digest, d('2'));
  t.is(selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'm').digest, d('1'));
  t.throws(() => selectPlatform(index, { os: 'windows', architecture: 'amd64' }, 'm'), { instanceOf: PlatformSelectionError, message: /no manifest for windows\/amd64/ });
});

test('layer selection: Trellis first, then Flux, then the selector; exactly one', (t) => {
  const both = parseOne(manifestDoc([{ mediaType: FLUX_CONTENT_MEDIA_TYPE }, { mediaType: TRELLIS_CONTENT_MEDIA_TYPE }]));
  t.is(selectLayer(both, undefined, 'm').descriptor.mediaType, TRELLIS_CONTENT_MEDIA_TYPE);
  t.is(selectLayer(both, undefined, 'm').operation, 'extract');
  const flux = parseOne(manifestDoc([{ mediaType: FLUX_CONTENT_MEDIA_TYPE }]));
  t.is(selectLayer(flux, undefined, 'm').descriptor.mediaType, FLUX_CONTENT_MEDIA_TYPE);
  const custom = parseOne(manifestDoc([{ mediaType: 'application/x-yaml' }, { mediaType: 'text/plain' }]));
  t.deepEqual(selectLayer(custom, { mediaType: 'text/plain', operation: 'copy' }, 'm'),
    { descriptor: custom.layers[1]!, operation: 'copy' });

  const missing = t.throws(() => selectLayer(custom, undefined, 'manifest r/x:1'), { instanceOf: LayerSelectionError });
  t.regex(missing.message, /no layer of media type .*trellis.* or .*flux.* \(it has: application\/x-yaml, text\/plain\)/);
  t.deepEqual(missing.available, ['application/x-yaml', 'text/plain']);
  const twice = parseOne(manifestDoc([{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE }, { mediaType: TRELLIS_CONTENT_MEDIA_TYPE }]));
  t.throws(() => selectLayer(twice, undefined, 'm'), { instanceOf: LayerSelectionError, message: /2 layers of media type .*exactly one/ });
  t.throws(() => selectLayer(custom, { mediaType: 'text/plain', operation: 'unpack' as 'copy' }, 'm'), { message: /"extract" or "copy"/ });
});

test('the ORAS-style manifest is deterministic and round-trips through the parser', (t) => {
  const input = {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: OCI_EMPTY_MEDIA_TYPE, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, digest: d('a'), size: 42, annotations: { 'org.opencontainers.image.title': 'web.tgz' } }],
    annotations: { z: '1', a: '2' },
  };
  const first = buildArtifactManifest(input);
  t.deepEqual(buildArtifactManifest({ ...input, annotations: { a: '2', z: '1' } }), first, 'annotation order does not matter');
  const text = new TextDecoder().decode(first);
  t.true(text.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.trellis.package.v1"'));
  t.true(text.endsWith('"annotations":{"a":"2","z":"1"}}'));
  const parsed = parseOne(JSON.parse(text));
  t.is(parsed.layers[0]?.annotations?.['org.opencontainers.image.title'], 'web.tgz');
  t.is(digestOf(new TextEncoder().encode('{}')), OCI_EMPTY_DIGEST, 'the empty config digest constant is right');
});
