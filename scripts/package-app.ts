import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildAppPackage, checkEnv, PackageError, parseEnvFile, withEnvironment } from './app-package';

/** `npm run package [-- <env file>]`: writes appPackage/build/registrar.zip. */
async function main(): Promise<void> {
  const root = process.cwd();
  const appPackageDir = join(root, 'appPackage');
  const envFile = resolve(root, process.argv[2] ?? join('appPackage', '.env.local'));
  if (!existsSync(envFile)) {
    throw new PackageError(
      `${relative(root, envFile)} does not exist. Copy appPackage/.env.example to appPackage/.env.local and fill it in, or pass another file: npm run package -- <file>.`,
    );
  }
  const env = checkEnv(
    // eslint-disable-next-line no-restricted-properties -- a command-line tool: the toolkit's outputs arrive in its environment
    withEnvironment(parseEnvFile(readFileSync(envFile, 'utf8')), process.env),
    relative(root, envFile),
  );
  const zip = await buildAppPackage(appPackageDir, env);
  const out = join(appPackageDir, 'build', 'registrar.zip');
  mkdirSync(join(appPackageDir, 'build'), { recursive: true });
  writeFileSync(out, zip);
  console.log(
    `Wrote ${relative(root, out)}: upload it in Teams admin center (Manage apps > Upload new app) or the Teams Developer Portal.`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof PackageError ? error.message : error);
  process.exitCode = 1;
});
