/**
 * The kit as a program sees it inside the sandbox: `trellis build` resolves
 * imports of the kit's `index.ts` to this module, which exports what a package
 * definition uses and none of the build and test machinery (which needs Node).
 */
export {
  definePackage, isPackageDefinition, isPhaseName, PackageApp,
  type PackageDefinition, type PackageProps, type PhaseProps,
} from '../package.ts';
export {
  item, value, valuesSchema, VALUES_SCHEMA_URI,
  type ItemType, type ListOptions, type ListValue, type MapOptions, type MapValue, type NumberOptions, type ObjectValue, type ScalarKind, type ScalarValue,
  type StringOptions, type ValueDeclaration, type ValueOptions, type ValuesInput, type ValuesOf, type ValuesShape,
} from '../values.ts';
export { InvalidValuesError, PackageDefinitionError, ValuesNotPlaceableError, type OutputLocation } from '../errors.ts';
