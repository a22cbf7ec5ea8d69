/**
 * Typed errors of the authoring kit. Each says what to change in the package
 * source; none carries install-time values (only defaults and paths, which are
 * part of the package itself).
 */
import type { BundleProblem } from '../../apply-controller/bundle/index.ts';

/** The package definition is malformed: name, version, value declarations, phases. */
export class PackageDefinitionError extends Error {
  override readonly name = 'PackageDefinitionError';
}

/** Where in the synthesized output a problem is. */
export interface OutputLocation {
  /** `Deployment web` (kind and name of the object as built with the defaults). */
  readonly object: string;
  /** The manifest file of the object, relative to the bundle root, when known. */
  readonly file?: string;
  /** JSON pointer into the object. */
  readonly path: string;
}

/**
 * A value is used in a way the bundle's placements cannot reproduce at install
 * time: in a computation or condition, as a map key, together with another value
 * in one string, or so that it changes which objects exist. The apply controller
 * only substitutes values where they land, so the package must use each value as
 * is (or inside a string).
 */
export class ValuesNotPlaceableError extends Error {
  override readonly name = 'ValuesNotPlaceableError';
  /** The values involved (JSON pointers into the values), when known. */
  readonly values: readonly string[];
  readonly location: OutputLocation | undefined;

  constructor(message: string, values: readonly string[] = [], location?: OutputLocation) {
    super(message);
    this.values = values;
    this.location = location;
  }
}

/** Values given to `synth()` fail the package's values schema. */
export class InvalidValuesError extends Error {
  override readonly name = 'InvalidValuesError';
  readonly problems: readonly BundleProblem[];

  constructor(problems: readonly BundleProblem[]) {
    super(`invalid values: ${problems.map((p) => p.message).join('; ')}`);
    this.problems = problems;
  }
}
