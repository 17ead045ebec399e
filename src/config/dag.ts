import { ConfigError } from '../errors.ts';

export type DagInput = { id: string; dependIds: readonly string[] };

/**
 * Kahn's levels of a form's dependency graph: level 0 has no dependencies, level n
 * depends only on levels below n. Within a level, resources keep the form's order, so
 * the result (and every file built from it) is deterministic.
 * Unknown ids and cycles are config errors; a cycle is shown as `a -> b -> a`.
 */
export function dagLevels(
  resources: readonly DagInput[],
  where: { file?: string; form?: string } = {},
): Map<string, number> {
  const byId = new Map(resources.map((resource) => [resource.id, resource]));
  for (const resource of resources) {
    for (const dep of resource.dependIds) {
      if (!byId.has(dep)) {
        throw new ConfigError(
          `dependIds of ${resource.id} names ${JSON.stringify(dep)}, which is not a resource id of this form`,
          {
            ...where,
            resource: resource.id,
          },
        );
      }
      if (dep === resource.id)
        throw new ConfigError(`${resource.id} depends on itself: ${dep} -> ${dep}`, {
          ...where,
          resource: resource.id,
        });
    }
  }
  const levels = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (id: string): number => {
    const known = levels.get(id);
    if (known !== undefined) return known;
    const at = visiting.indexOf(id);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), id].join(' -> ');
      throw new ConfigError(`dependIds form a cycle: ${cycle}`, { ...where, resource: id });
    }
    visiting.push(id);
    let level = 0;
    for (const dep of byId.get(id)?.dependIds ?? []) level = Math.max(level, visit(dep) + 1);
    visiting.pop();
    levels.set(id, level);
    return level;
  };
  for (const resource of resources) visit(resource.id);
  return levels;
}
