// The exit codes, in a module of their own: main.ts and the light commands need them
// without loading what the sync report imports (the plan, the rollout gate, the renderer).

export const EXIT_OK = 0;
/** Some nodes failed, deletions were held back, or changes are blocked from their pull request; the rest was published. */
export const EXIT_PARTIAL = 1;
export const EXIT_CONFIG = 2;
/** Nothing published for a hub because its source or git failed, or its pull request could not be made. */
export const EXIT_NOT_PUBLISHED = 3;
/** A bug in the bridge (sysexits' EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;
