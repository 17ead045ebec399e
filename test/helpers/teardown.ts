/**
 * What a test setup has started (databases, servers, folders, child processes), closed
 * last first. A setup builds through `setUp`, so a step that throws closes what the earlier
 * steps started and the test fails at once; a server left listening would otherwise keep
 * the test process alive with nothing to run.
 */
export class Teardown {
  readonly #steps: Array<() => unknown> = [];

  /** Closes `thing` with `close` at teardown; returns it, for `const x = teardown.add(await start(), (x) => x.close())`. */
  add<T>(thing: T, close: (thing: T) => unknown): T {
    this.#steps.push(() => close(thing));
    return thing;
  }

  /** Closes everything added, last first; every step runs even when one fails, and the first failure is thrown. */
  async run(): Promise<void> {
    let failure: unknown;
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

/** Runs a setup; when it throws, closes what it had started and rethrows the setup's own error. */
export async function setUp<T>(build: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  try {
    return await build(teardown);
  } catch (error) {
    await teardown.run().catch(() => undefined);
    throw error;
  }
}
