/**
 * The contents of every Node built-in module a program cannot have inside the
 * sandbox (`fs`, `os`, `child_process`, `http`, ...): any use of it throws an
 * error that says why. `trellis build` loads this source in their place.
 */

/** The JavaScript (CommonJS) of the stand-in for the Node module `name`. */
export function unavailableModuleSource(name: string): string {
  const why = `${name} is not available in a Trellis program: a package renders in a sandbox without files, network, processes or clock (files the program needs are embedded at build time)`;
  return `const why = ${JSON.stringify(why)};
const fail = () => { throw new Error(why); };
module.exports = new Proxy({}, {
  get(_target, key) {
    if (key === '__esModule' || key === 'default' || typeof key === 'symbol') return undefined;
    return fail;
  },
});`;
}
