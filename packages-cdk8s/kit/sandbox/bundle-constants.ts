/**
 * What the kit's in-sandbox modules take from the bundle library, without the
 * library: the program bundle must not carry the apply controller's validation
 * (ajv, CEL, node:crypto). `trellis build` resolves the kit's imports of
 * `apply-controller/bundle/index.ts` to this module. The build checks values
 * against the schema outside the sandbox, and the controller before rendering,
 * so `resolveValues` here only passes them through.
 */

/** The annotation by which an object names its phase (the same string as the bundle library's). */
export const PHASE_ANNOTATION = 'apply.trellis.dev/phase';

/** The placeholder of a placement template (the same string as the bundle library's). */
export const TEMPLATE_PLACEHOLDER = '${value}';

/** Stands in for the library's `resolveValues`: the values were checked before the program ran. */
export function resolveValues(input: { readonly values?: Record<string, unknown> }): { ok: true; values: Record<string, unknown> } {
  return { ok: true, values: input.values ?? {} };
}
