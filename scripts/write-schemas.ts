// Writes output-schema/*.schema.json from the zod schemas (npm run schemas).
import { writeFile } from 'node:fs/promises';
import { jsonSchemas } from '../src/config/json-schemas.ts';

for (const [name, schema] of Object.entries(jsonSchemas())) {
  await writeFile(new URL(`../output-schema/${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote output-schema/${name}`);
}
