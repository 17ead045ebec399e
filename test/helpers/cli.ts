import { main } from '../../src/cli/main.ts';
import { captureStream } from './files.ts';

/** Run the CLI in-process, as a user would from a shell; output captured. */
export async function lynq(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const out = captureStream();
  const err = captureStream();
  const code = await main(args, { out, err, env: { LYNQ_LOG_LEVEL: 'silent', ...env }, isTty: false });
  return { code, out: out.text(), err: err.text() };
}
