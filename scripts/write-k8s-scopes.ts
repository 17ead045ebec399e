// Writes src/config/k8s-scopes.ts (the scope of every built-in kind) from the installed schemas.
import { writeFile } from 'node:fs/promises';
import { scopesModule } from './k8s-scopes-source.ts';

await writeFile(new URL('../src/config/k8s-scopes.ts', import.meta.url), scopesModule());
console.log('wrote src/config/k8s-scopes.ts');
