/**
 * The import rules CI enforces (`npm run lint`): no import circles between files, and
 * folders only import along the data flow (config → sources → render → gitops → plan →
 * git → forge → kube → health → sync → web → service → cli), so no folder circle can form either.
 * errors.ts, logger.ts and version.ts are shared by all.
 */
const LAYERS = ['config', 'sources', 'render', 'gitops', 'plan', 'git', 'forge', 'kube', 'health', 'sync', 'web', 'service', 'cli'];

const layerRules = LAYERS.map((layer, index) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only folders before it in the data flow (${LAYERS.slice(0, index).join(', ') || 'none'})`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(index + 1).join('|') || '__none__'})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import circle between files',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)' },
  },
};
