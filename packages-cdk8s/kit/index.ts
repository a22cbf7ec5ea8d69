/**
 * The Trellis authoring kit for cdk8s packages: define a package with typed
 * values and phases, test it with `synth`, and let `trellis build` turn it into a
 * bundle (package.yaml + manifests) that the apply controller reads.
 */
export {
  definePackage, isPackageDefinition, isPhaseName, PackageApp,
  type PackageDefinition, type PackageProps, type PhaseProps,
} from './package.ts';
export {
  collectionValues, item, value, valueLeaves, valuesSchema, VALUES_SCHEMA_URI,
  type ItemOptions, type ItemShape, type ItemType, type ListOptions, type ListValue, type MapOptions, type MapValue,
  type NumberItemOptions, type NumberOptions, type ObjectValue, type OptionalItem, type ScalarKind, type ScalarValue,
  type StringItemOptions, type StringOptions, type ValueDeclaration,
  type ValueLeaf, type ValueOptions, type ValuesInput, type ValuesOf, type ValuesShape,
} from './values.ts';
export { synthesize, NonFiniteNumberError, type Synthesis, type SynthesizedObject } from './synthesize.ts';
export { layoutFiles, planBuild, verifyPlan, type BuildPlan, type BundleFile } from './plan.ts';
export { planOf, render, synth } from './testing.ts';
export { InvalidValuesError, PackageDefinitionError, ValuesNotPlaceableError, type OutputLocation } from './errors.ts';
