/** Loading the configuration in tests: with local mode's defaults, and the problems a bad one reports. */
import { ConfigError, loadConfig } from '../../src/config';
import { localDefaults } from '../../src/local/demo-identities';

export const load = (env: Record<string, string>) => loadConfig(env, localDefaults);

/** The problems loading `env` reports; fails the test when it loads. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}
