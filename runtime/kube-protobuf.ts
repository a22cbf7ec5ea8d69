/**
 * Kubernetes' protobuf encoding, read side only, for watches of the built-in
 * kinds that packages hold in bulk (ConfigMap, Secret). The apiserver encodes a
 * watch event in protobuf at a fraction of what JSON costs it, and a cold apply
 * of thousands of ConfigMaps sends one event per object to the managed-object
 * cache (docs/performance.md, session 23).
 *
 * The decoders are faithful: each returns exactly the object the apiserver's
 * JSON would have given (same fields, same omissions, same key order, times as
 * RFC 3339 seconds), so nothing that reads a watch can tell which encoding it
 * came in; `test/integration/runtime/kube-protobuf.test.ts` holds them to that
 * against a real apiserver. Any other kind is watched in JSON.
 *
 * Wire formats (k8s.io/apimachinery): a watch stream is a sequence of frames,
 * each a 4-byte big-endian length and a `metav1.WatchEvent` without envelope;
 * the event's object, like a whole response body, is the envelope: the bytes
 * `k8s\0` and a `runtime.Unknown` holding the type and the object's own bytes.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** What a watch asks for when its kind can be decoded here. */
export const PROTOBUF_WATCH_ACCEPT = 'application/vnd.kubernetes.protobuf;stream=watch';

const ENVELOPE_MAGIC = [0x6b, 0x38, 0x73, 0x00] as const;

/** Options for the decoders. */
export interface ProtobufDecodeOptions {
  /** Leave `metadata.managedFields` out (the caller would drop it anyway; default false). */
  readonly withoutManagedFields?: boolean;
}

type JsonObject = Record<string, unknown>;
type Decoder = (r: BinaryReader, end: number, options: ProtobufDecodeOptions) => JsonObject;

/** True when a watch of `apiVersion`/`kind` can ask for protobuf. */
export function hasProtobufDecoder(apiVersion: string, kind: string): boolean {
  return apiVersion === 'v1' && (kind === 'ConfigMap' || kind === 'Secret');
}

/** True for a `Content-Type` of Kubernetes' protobuf encoding (a watch stream's or a single object's). */
export function isProtobufContentType(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim() === 'application/vnd.kubernetes.protobuf';
}

/** One frame of a protobuf watch stream, as the JSON watch would have given it. */
export function decodeWatchFrame(frame: Uint8Array, options: ProtobufDecodeOptions = {}): { type: string; object: JsonObject } {
  const r = new BinaryReader(frame);
  let type = '';
  let raw: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) type = r.string();
    else if (field === 2 && wire === WireType.LengthDelimited) raw = rawExtension(r, r.uint32() + r.pos);
    else r.skip(wire, field);
  }
  if (raw === undefined) throw new Error(`protobuf watch event ${type || '(no type)'} has no object`);
  return { type, object: decodeEnvelope(raw, options) };
}

/** A whole protobuf response body (an object or a Status) as its JSON would have given it. */
export function decodeEnvelope(bytes: Uint8Array, options: ProtobufDecodeOptions = {}): JsonObject {
  if (bytes.length < 4 || ENVELOPE_MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('not a Kubernetes protobuf object (no k8s envelope)');
  const r = new BinaryReader(bytes.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array();
  let encoding = '';
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const [f, w] = r.tag();
        if (f === 1 && w === WireType.LengthDelimited) apiVersion = r.string();
        else if (f === 2 && w === WireType.LengthDelimited) kind = r.string();
        else r.skip(w, f);
      }
    } else if (field === 2 && wire === WireType.LengthDelimited) raw = r.bytes();
    else if (field === 3 && wire === WireType.LengthDelimited) encoding = r.string();
    else r.skip(wire, field);
  }
  if (encoding !== '') throw new Error(`protobuf ${kind} with content encoding ${encoding} is not supported`);
  const decode = DECODERS.get(`${apiVersion}/${kind}`);
  if (!decode) throw new Error(`no protobuf decoder for ${apiVersion} ${kind}`);
  const inner = new BinaryReader(raw);
  return { kind, apiVersion, ...decode(inner, inner.len, options) };
}

function rawExtension(r: BinaryReader, end: number): Uint8Array | undefined {
  let raw: Uint8Array | undefined;
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) raw = r.bytes();
    else r.skip(wire, field);
  }
  return raw;
}

/** Reads fields up to `end`, handing each to `on`, which returns false for a field it does not know (skipped). */
function fields(r: BinaryReader, end: number, on: (field: number, wire: WireType) => boolean): void {
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (!on(field, wire)) r.skip(wire, field);
  }
}

function messageEnd(r: BinaryReader): number {
  return r.uint32() + r.pos;
}

/** One `map<string, V>` entry (a message of key 1 and value 2), added to `into`. */
function mapEntry<V>(r: BinaryReader, into: Record<string, V>, value: () => V, empty: V): void {
  let key = '';
  let v = empty;
  fields(r, messageEnd(r), (field, wire) => {
    if (wire !== WireType.LengthDelimited) return false;
    if (field === 1) key = r.string();
    else if (field === 2) v = value();
    else return false;
    return true;
  });
  into[key] = v;
}

/** A `metav1.Time` as its JSON: RFC 3339 in whole seconds, UTC; null for the zero time (an empty message). */
function time(r: BinaryReader): string | null {
  const end = messageEnd(r);
  if (end === r.pos) return null;
  let seconds = 0;
  fields(r, end, (field, wire) => {
    if (field === 1 && wire === WireType.Varint) seconds = Number(r.int64());
    else return false;
    return true;
  });
  return secondsText(seconds);
}

/** The seconds {@link secondsText} last formatted, and their text. */
let lastSeconds = Number.NaN;
let lastText = '';

/**
 * `seconds` since the epoch as RFC 3339 in whole seconds, UTC. The events of a
 * burst share a few seconds, so the last one is kept: formatting a date was the
 * largest part of decoding a ConfigMap's event (development notes, session 30).
 */
function secondsText(seconds: number): string {
  if (seconds !== lastSeconds) {
    lastText = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSeconds = seconds;
  }
  return lastText;
}

function ownerReference(r: BinaryReader): JsonObject {
  const got: Partial<Record<'kind' | 'name' | 'uid' | 'apiVersion', string>> & { controller?: boolean; blockOwnerDeletion?: boolean } = {};
  fields(r, messageEnd(r), (field, wire) => {
    if (wire === WireType.LengthDelimited && field === 1) got.kind = r.string();
    else if (wire === WireType.LengthDelimited && field === 3) got.name = r.string();
    else if (wire === WireType.LengthDelimited && field === 4) got.uid = r.string();
    else if (wire === WireType.LengthDelimited && field === 5) got.apiVersion = r.string();
    else if (wire === WireType.Varint && field === 6) got.controller = r.bool();
    else if (wire === WireType.Varint && field === 7) got.blockOwnerDeletion = r.bool();
    else return false;
    return true;
  });
  const ref: JsonObject = { apiVersion: got.apiVersion ?? '', kind: got.kind ?? '', name: got.name ?? '', uid: got.uid ?? '' };
  if (got.controller !== undefined) ref.controller = got.controller;
  if (got.blockOwnerDeletion !== undefined) ref.blockOwnerDeletion = got.blockOwnerDeletion;
  return ref;
}

function managedFieldsEntry(r: BinaryReader): JsonObject {
  const entry: JsonObject = {};
  fields(r, messageEnd(r), (field, wire) => {
    if (wire !== WireType.LengthDelimited) return false;
    if (field === 1) setString(entry, 'manager', r.string());
    else if (field === 2) setString(entry, 'operation', r.string());
    else if (field === 3) setString(entry, 'apiVersion', r.string());
    else if (field === 4) entry.time = time(r);
    else if (field === 6) setString(entry, 'fieldsType', r.string());
    else if (field === 7) {
      let raw: Uint8Array | undefined;
      fields(r, messageEnd(r), (f, w) => {
        if (f === 1 && w === WireType.LengthDelimited) raw = r.bytes();
        else return false;
        return true;
      });
      entry.fieldsV1 = raw === undefined || raw.length === 0 ? {} : JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
    } else if (field === 8) setString(entry, 'subresource', r.string());
    else return false;
    return true;
  });
  return orderKeys(entry, ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']);
}

/** `metav1.ObjectMeta`: every field its JSON has, omitted where the JSON omits it. */
function objectMeta(r: BinaryReader, options: ProtobufDecodeOptions): JsonObject {
  const meta: JsonObject = {};
  let creationTimestamp: string | null = null;
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const ownerReferences: JsonObject[] = [];
  const finalizers: string[] = [];
  const managedFields: JsonObject[] = [];
  fields(r, messageEnd(r), (field, wire) => {
    if (wire === WireType.Varint) {
      if (field === 7) setNumber(meta, 'generation', Number(r.int64()));
      else if (field === 10) meta.deletionGracePeriodSeconds = Number(r.int64());
      else return false;
      return true;
    }
    if (wire !== WireType.LengthDelimited) return false;
    switch (field) {
      case 1: setString(meta, 'name', r.string()); break;
      case 2: setString(meta, 'generateName', r.string()); break;
      case 3: setString(meta, 'namespace', r.string()); break;
      case 4: setString(meta, 'selfLink', r.string()); break;
      case 5: setString(meta, 'uid', r.string()); break;
      case 6: setString(meta, 'resourceVersion', r.string()); break;
      case 8: creationTimestamp = time(r); break;
      case 9: meta.deletionTimestamp = time(r); break;
      case 11: mapEntry(r, labels, () => r.string(), ''); break;
      case 12: mapEntry(r, annotations, () => r.string(), ''); break;
      case 13: ownerReferences.push(ownerReference(r)); break;
      case 14: finalizers.push(r.string()); break;
      case 15: setString(meta, 'clusterName', r.string()); break;
      case 17:
        if (options.withoutManagedFields) r.skip(wire, field);
        else managedFields.push(managedFieldsEntry(r));
        break;
      default: return false;
    }
    return true;
  });
  meta.creationTimestamp = creationTimestamp;
  setNonEmpty(meta, 'labels', labels);
  setNonEmpty(meta, 'annotations', annotations);
  setNonEmpty(meta, 'ownerReferences', ownerReferences);
  setNonEmpty(meta, 'finalizers', finalizers);
  setNonEmpty(meta, 'managedFields', managedFields);
  return orderKeys(meta, META_KEYS);
}

const META_KEYS = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'clusterName', 'managedFields',
];

/** `core/v1 ConfigMap`: metadata 1, data 2, binaryData 3, immutable 4. */
function configMap(r: BinaryReader, end: number, options: ProtobufDecodeOptions): JsonObject {
  let metadata: JsonObject = { creationTimestamp: null };
  let immutable: boolean | undefined;
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  fields(r, end, (field, wire) => {
    if (field === 4 && wire === WireType.Varint) immutable = r.bool();
    else if (wire !== WireType.LengthDelimited) return false;
    else if (field === 1) metadata = objectMeta(r, options);
    else if (field === 2) mapEntry(r, data, () => r.string(), '');
    else if (field === 3) mapEntry(r, binaryData, () => base64(r.bytes()), '');
    else return false;
    return true;
  });
  const out: JsonObject = { metadata };
  if (immutable !== undefined) out.immutable = immutable;
  setNonEmpty(out, 'data', data);
  setNonEmpty(out, 'binaryData', binaryData);
  return out;
}

/** `core/v1 Secret`: metadata 1, data 2, type 3, stringData 4 (never served), immutable 5. */
function secret(r: BinaryReader, end: number, options: ProtobufDecodeOptions): JsonObject {
  let metadata: JsonObject = { creationTimestamp: null };
  let immutable: boolean | undefined;
  let type = '';
  const data: Record<string, string> = {};
  const stringData: Record<string, string> = {};
  fields(r, end, (field, wire) => {
    if (field === 5 && wire === WireType.Varint) immutable = r.bool();
    else if (wire !== WireType.LengthDelimited) return false;
    else if (field === 1) metadata = objectMeta(r, options);
    else if (field === 2) mapEntry(r, data, () => base64(r.bytes()), '');
    else if (field === 3) type = r.string();
    else if (field === 4) mapEntry(r, stringData, () => r.string(), '');
    else return false;
    return true;
  });
  const out: JsonObject = { metadata };
  if (immutable !== undefined) out.immutable = immutable;
  setNonEmpty(out, 'data', data);
  setNonEmpty(out, 'stringData', stringData);
  if (type !== '') out.type = type;
  return out;
}

/** `metav1.Status` (a watch's ERROR event, an error response). */
function status(r: BinaryReader, end: number): JsonObject {
  const metadata: JsonObject = {};
  const out: JsonObject = {};
  fields(r, end, (field, wire) => {
    if (field === 6 && wire === WireType.Varint) setNumber(out, 'code', r.int32());
    else if (wire !== WireType.LengthDelimited) return false;
    else if (field === 1) listMeta(r, metadata);
    else if (field === 2) setString(out, 'status', r.string());
    else if (field === 3) setString(out, 'message', r.string());
    else if (field === 4) setString(out, 'reason', r.string());
    else if (field === 5) out.details = statusDetails(r);
    else return false;
    return true;
  });
  return orderKeys({ metadata, ...out }, ['metadata', 'status', 'message', 'reason', 'details', 'code']);
}

function listMeta(r: BinaryReader, into: JsonObject): void {
  fields(r, messageEnd(r), (field, wire) => {
    if (field === 4 && wire === WireType.Varint) into.remainingItemCount = Number(r.int64());
    else if (wire !== WireType.LengthDelimited) return false;
    else if (field === 1) setString(into, 'selfLink', r.string());
    else if (field === 2) setString(into, 'resourceVersion', r.string());
    else if (field === 3) setString(into, 'continue', r.string());
    else return false;
    return true;
  });
}

function statusDetails(r: BinaryReader): JsonObject {
  const details: JsonObject = {};
  const causes: JsonObject[] = [];
  fields(r, messageEnd(r), (field, wire) => {
    if (field === 5 && wire === WireType.Varint) setNumber(details, 'retryAfterSeconds', r.int32());
    else if (wire !== WireType.LengthDelimited) return false;
    else if (field === 1) setString(details, 'name', r.string());
    else if (field === 2) setString(details, 'group', r.string());
    else if (field === 3) setString(details, 'kind', r.string());
    else if (field === 6) setString(details, 'uid', r.string());
    else if (field === 4) {
      const cause: JsonObject = {};
      fields(r, messageEnd(r), (f, w) => {
        if (w !== WireType.LengthDelimited) return false;
        if (f === 1) setString(cause, 'reason', r.string());
        else if (f === 2) setString(cause, 'message', r.string());
        else if (f === 3) setString(cause, 'field', r.string());
        else return false;
        return true;
      });
      causes.push(cause);
    } else return false;
    return true;
  });
  setNonEmpty(details, 'causes', causes);
  return orderKeys(details, ['name', 'group', 'kind', 'uid', 'causes', 'retryAfterSeconds']);
}

const DECODERS = new Map<string, Decoder>([
  ['v1/ConfigMap', configMap],
  ['v1/Secret', secret],
  ['v1/Status', (r, end) => status(r, end)],
]);

/** JSON's `omitempty` for a string. */
function setString(into: JsonObject, key: string, value: string): void {
  if (value !== '') into[key] = value;
}

/** JSON's `omitempty` for a map or a list. */
function setNonEmpty(into: JsonObject, key: string, value: Record<string, unknown> | readonly unknown[]): void {
  if (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0) into[key] = value;
}

/** JSON's `omitempty` for a number. */
function setNumber(into: JsonObject, key: string, value: number): void {
  if (value !== 0) into[key] = value;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** `obj` with its keys in `order` (the Go struct's field order, which its JSON keeps). */
function orderKeys(obj: JsonObject, order: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of order) if (key in obj) out[key] = obj[key];
  return out;
}
