/**
 * The program's side of the sandbox protocol: `trellis build` compiles the
 * package with this module into one script that sets `globalThis.trellisProgram`
 * to `{describe, render}` (apply-controller/program/ calls them):
 *
 * - `describe()` -> `{"name", "version", "description"?, "schema", "files"?}`
 *   (`files`: the declared files, which `trellis build` embeds)
 * - `render(valuesJson)` -> `{"phases": [...], "objects": [{"phase", "object"}]}`
 */
import { isPackageDefinition, type PackageDefinition } from '../package.ts';
import { synthesize } from '../synthesize.ts';

/** Makes `def` the program of this sandbox. */
export function exposeProgram(def: unknown): void {
  if (!isPackageDefinition(def)) {
    throw new Error('the package file must default-export a package: export default definePackage({...})');
  }
  const pkg: PackageDefinition = def;
  const program = {
    describe: (): string => JSON.stringify({
      name: pkg.name, version: pkg.version, schema: pkg.schema,
      ...(pkg.description !== undefined ? { description: pkg.description } : {}),
      // A definition from another copy of the kit may have no files.
      ...(Array.isArray(pkg.files) && pkg.files.length > 0 ? { files: pkg.files } : {}),
    }),
    render: (valuesJson: string): string => JSON.stringify(synthesize(pkg, JSON.parse(valuesJson) as Record<string, unknown>)),
  };
  Object.defineProperty(globalThis, 'trellisProgram', { value: Object.freeze(program), enumerable: false });
}
