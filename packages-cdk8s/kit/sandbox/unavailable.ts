/**
 * The contents of every Node built-in module a program cannot have inside the
 * sandbox (`fs`, `os`, `child_process`, `http`, ...): each of the module's
 * exports (their names come from the real module, at build time) is a function
 * that throws an error saying why. `trellis build` loads this source in their place.
 * `fs` and `child_process` keep the few functions that read the package's
 * embedded files (fs.ts), taken from the module `embeddedModule`.
 */

/** The part of the embedded-file view (fs.ts) that stands in for some of a module's exports. */
export interface EmbeddedReaders {
  /** The module (a specifier the build resolves) whose exports are the view: `{fs, childProcess}`. */
  readonly embeddedModule: string;
  readonly part: 'fs' | 'childProcess';
}

/** The JavaScript (CommonJS) of the stand-in for the Node module `name` with the exports `names`. */
export function unavailableModuleSource(name: string, names: readonly string[], readers?: EmbeddedReaders): string {
  const why = `${name} is not available in a Trellis program: a package renders in a sandbox without files, network, processes or clock `
    + '(files the program reads are declared in definePackage({ files: [...] }) and embedded at build time)';
  const exported = names.filter((n) => n !== 'default' && n !== '__esModule');
  const embedded = readers
    ? `Object.assign(stub, require(${JSON.stringify(readers.embeddedModule)})[${JSON.stringify(readers.part)}]);\n`
    : '';
  return `const why = ${JSON.stringify(why)};
function unavailable() { throw new Error(why); }
const stub = {};
for (const key of ${JSON.stringify(exported)}) stub[key] = unavailable;
${embedded}module.exports = stub;`;
}
