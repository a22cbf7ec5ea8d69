/**
 * The contents of every Node built-in module a program cannot have inside the
 * sandbox (`fs`, `os`, `child_process`, `http`, ...): each of the module's
 * exports (their names come from the real module, at build time) is a function
 * that throws an error saying why. `trellis build` loads this source in their place.
 */

/** The JavaScript (CommonJS) of the stand-in for the Node module `name` with the exports `names`. */
export function unavailableModuleSource(name: string, names: readonly string[]): string {
  const why = `${name} is not available in a Trellis program: a package renders in a sandbox without files, network, processes or clock (files the program needs are embedded at build time)`;
  const exported = names.filter((n) => n !== 'default' && n !== '__esModule');
  return `const why = ${JSON.stringify(why)};
function unavailable() { throw new Error(why); }
const stub = {};
for (const key of ${JSON.stringify(exported)}) stub[key] = unavailable;
module.exports = stub;`;
}
