import nunjucks from 'nunjucks';
import { escapeText, highlightYaml } from './highlight.ts';
import { type PhaseCounts, VIEW_PHASES, type ViewPhase } from './pages.ts';
import { TEMPLATES } from './templates.ts';

/**
 * The pages' nunjucks environment: templates from memory (templates.ts), autoescape on,
 * and a few formatting filters. nunjucks because the bridge already bundles it for forms,
 * so the view adds no dependency; autoescaping makes every value text unless a template
 * says `| safe`.
 */
function createEnvironment(): nunjucks.Environment {
  const loader = {
    getSource(name: string) {
      const src = TEMPLATES[name];
      if (src === undefined) throw new Error(`no page template ${name}`);
      return { src, path: name, noCache: false };
    },
  } as nunjucks.ILoader;
  const env = new nunjucks.Environment(loader, {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('num', (value: unknown) =>
    typeof value === 'number' ? value.toLocaleString('en-US') : String(value ?? ''),
  );
  env.addFilter('short', (value: unknown) => String(value ?? '').slice(0, 12));
  env.addFilter('when', (value: unknown) => {
    const date = new Date(String(value));
    return Number.isNaN(date.getTime()) ? String(value ?? '') : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  });
  env.addGlobal('order', VIEW_PHASES);
  env.addGlobal('segments', segments);
  return env;
}

let environment: nunjucks.Environment | undefined;

/** One page as HTML. */
export function renderPage(template: string, context: Record<string, unknown>): string {
  environment ??= createEnvironment();
  return environment.render(template, context);
}

/** A file's text as highlighted HTML when it is YAML, else escaped text (highlight.ts escapes first). */
export function fileHtml(path: string, content: string): string {
  return /\.ya?ml$/.test(path) ? highlightYaml(content) : escapeText(content);
}

/** The phase bar's parts, in percent of the width. */
function segments(
  phases: PhaseCounts,
  total: number,
): Array<{ phase: ViewPhase; x: number; width: number; count: number }> {
  const out: Array<{ phase: ViewPhase; x: number; width: number; count: number }> = [];
  let x = 0;
  for (const phase of VIEW_PHASES) {
    const count = phases[phase];
    if (count <= 0 || total <= 0) continue;
    const width = (count / total) * 100;
    out.push({ phase, x: round(x), width: round(width), count });
    x += width;
  }
  return out;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;
