/**
 * The typed error of `trellis build`: why a package could not be built, with the
 * file and object when there is one. Build output may name defaults and paths (they
 * are part of the package source), never install-time values or credentials.
 */
import type { BundleProblem } from '../../apply-controller/bundle/index.ts';

/** Why a build failed, as a CamelCase reason. */
export type PackageBuildReason =
  /** The package folder has no entry file (package.ts). */
  | 'EntryNotFound'
  /** The entry file does not default-export a definePackage(...) result. */
  | 'NotAPackage'
  /** The package program threw, or exited without a result. */
  | 'ProgramFailed'
  /** The definition is malformed (name, version, values, phases). */
  | 'InvalidPackage'
  /** A value is used in a way the bundle's placements cannot reproduce. */
  | 'ValuesNotPlaceable'
  /** The program did not finish within the time limit. */
  | 'Timeout'
  /** The synthesized bundle fails the apply controller's validation. */
  | 'InvalidBundle'
  /** No Node.js that runs TypeScript (24+) to run the program with. */
  | 'NodeVersion'
  /** A file the package declares cannot be embedded: outside the package folder, missing, or too large. */
  | 'InvalidFiles'
  /** esbuild could not compile the package into a program (syntax, a missing import, a type error). */
  | 'CompileFailed';

/** A failed build. `problems` lists every validation problem for `InvalidBundle`. */
export class PackageBuildError extends Error {
  override readonly name = 'PackageBuildError';
  readonly reason: PackageBuildReason;
  readonly problems: readonly BundleProblem[];

  constructor(reason: PackageBuildReason, message: string, problems: readonly BundleProblem[] = []) {
    super(message);
    this.reason = reason;
    this.problems = problems;
  }
}
