import { z } from 'zod';
import { FormFile } from './form-schema.ts';
import { HubFile } from './hub-schema.ts';
import { LynqNodeFile } from './node-schema.ts';

/**
 * JSON Schemas for editors (`# yaml-language-server: $schema=…`), made from the zod
 * schemas the loader uses, so they cannot say something the code does not.
 * `npm run schemas` writes them to output-schema/; a test fails when they drift.
 */
export function jsonSchemas(): Record<string, unknown> {
  const make = (schema: z.ZodType, title: string) => ({
    title,
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
  });
  return {
    'lynqhub.schema.json': make(HubFile, 'LynqHub (Lynq GitOps bridge)'),
    'lynqform.schema.json': make(FormFile, 'LynqForm (Lynq GitOps bridge)'),
    'lynqnode.schema.json': make(LynqNodeFile, 'LynqNode file written into every node folder'),
  };
}
