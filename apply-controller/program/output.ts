/**
 * The output format of a program render (what the kit's sandbox entry returns):
 *
 * ```json
 * {"phases": ["config", "apps"], "objects": [{"phase": "config", "object": {...}}, ...]}
 * ```
 *
 * and of `describe`: `{"name", "version", "description"?, "schema"}`. Both come
 * from untrusted code, so they are checked field by field before anything else
 * reads them.
 */

/** The objects a render produced, phase by phase. */
export interface ProgramOutput {
  /** Phase names in apply order. */
  readonly phases: readonly string[];
  readonly objects: readonly { readonly phase: string; readonly object: Record<string, unknown> }[];
}

/** What `describe` says about the package. */
export interface ProgramDescription {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  /** The values JSON Schema. */
  readonly schema: Record<string, unknown>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses and checks a render's output; returns a message saying what is wrong instead when it is malformed. */
export function parseProgramOutput(text: string): ProgramOutput | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'the output is not JSON';
  }
  if (!isObject(data) || !Array.isArray(data.phases) || !Array.isArray(data.objects)) {
    return 'the output must be {"phases": [...], "objects": [...]}';
  }
  if (!data.phases.every((p): p is string => typeof p === 'string')) return 'phases must be strings';
  const objects: { phase: string; object: Record<string, unknown> }[] = [];
  for (const [i, entry] of data.objects.entries()) {
    if (!isObject(entry) || typeof entry.phase !== 'string' || !isObject(entry.object)) {
      return `objects[${i}] must be {"phase": string, "object": {...}}`;
    }
    objects.push({ phase: entry.phase, object: entry.object });
  }
  return { phases: data.phases, objects };
}

/** Parses and checks `describe`'s output. */
export function parseProgramDescription(text: string): ProgramDescription | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'the description is not JSON';
  }
  if (!isObject(data) || typeof data.name !== 'string' || typeof data.version !== 'string' || !isObject(data.schema)) {
    return 'the description must be {"name": string, "version": string, "schema": {...}}';
  }
  if (data.description !== undefined && typeof data.description !== 'string') return 'description must be a string';
  return {
    name: data.name, version: data.version, schema: data.schema,
    ...(typeof data.description === 'string' ? { description: data.description } : {}),
  };
}
