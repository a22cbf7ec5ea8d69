/**
 * Drift handling of the apply controller: fields others own (`drift.ignore`) and
 * which managed fields differ from what was applied.
 */
export {
  applyIgnoreRules, driftedPaths, ignoredPaths, InvalidIgnoreRuleError, isIgnored, ruleApplies, validateIgnoreRules,
  type IgnorableObject, type IgnoreRule, type IgnoreTarget,
} from './ignore.ts';
