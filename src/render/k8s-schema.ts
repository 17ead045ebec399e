// The schema check of built-in kinds lives in config/, because loading a form checks its
// static parts against it (config/static-checks.ts); rendering uses the same check.
export { pointerToPath, validateManifest, type SchemaProblem } from '../config/k8s-schema.ts';
