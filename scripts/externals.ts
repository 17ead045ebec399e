// What the bundle (scripts/build.ts) leaves to Node, and so what a runtime needs in
// node_modules: read by the build and by the image (scripts/runtime-modules.ts).

/**
 * Left out of the bundle, loaded from node_modules at run time:
 * - MySQL's driver and the Kubernetes client: large, loaded only by the commands and hubs
 *   that use them, and full of optional native and platform-specific requires (pg, which
 *   most syncs load, is bundled: only its optional native binding and Cloudflare sockets stay out);
 * - pglite is started in a worker from its own files.
 */
export const BUNDLE_EXTERNAL = [
  'pg-native',
  'pg-cloudflare',
  'mysql2',
  '@kubernetes/client-node',
  '@electric-sql/pglite',
];

/**
 * The packages the image installs: the externals above it uses, plus the Kubernetes schema
 * packages, which the bundle carries only for the kinds k8s-bundled-models.ts names
 * (k8s-schema.ts requires any other kind by its path at run time). Not pglite: it is the
 * database of `lynq demo` only (the npm package keeps it). Not pg-native or pg-cloudflare:
 * optional, and not dependencies.
 */
export const IMAGE_RUNTIME_PACKAGES = [
  'mysql2',
  '@kubernetes/client-node',
  'kubernetes-models',
  '@kubernetes-models/argo-cd',
  '@kubernetes-models/flux-cd',
];
