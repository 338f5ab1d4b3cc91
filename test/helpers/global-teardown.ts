/** Jest global teardown: stops the Azurite that global-setup.ts started. */
import type { TestGlobals } from './global-setup';

// Jest loads the hook from the module's default export.
export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as TestGlobals;
  await globals.registrarTestAzurite?.stop();
  globals.registrarTestAzurite = undefined;
}
