// Writes src/config/k8s-fields.ts (the fields of every built-in kind) from the installed schemas.
import { writeFile } from 'node:fs/promises';
import { fieldsModule } from './k8s-fields-source.ts';

await writeFile(new URL('../src/config/k8s-fields.ts', import.meta.url), fieldsModule());
console.log('wrote src/config/k8s-fields.ts');
