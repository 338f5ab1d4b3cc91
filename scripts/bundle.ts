import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';
import { writeZip, type ZipEntry } from './zip';

/**
 * `npm run bundle`: what Azure App Service runs, built from the compiled dist/ (npm run bundle builds first).
 * build/app holds what the production project (tsconfig.production.json) compiles into dist/src and
 * dist/adaptiveCards, package.json, package-lock.json and the production dependencies only (npm ci --omit=dev);
 * build/registrar-app.zip is the same folder for `az webapp deploy --type zip`. The local tenant and local
 * mode's launchers are compiled into the same dist/ tree by their own projects and are not copied.
 * The Agents Toolkit's deploy stage (m365agents.yml) zips build/app itself.
 */
function main(): void {
  const root = process.cwd();
  const out = join(root, 'build', 'app');
  const shipped = bundleFiles(productionSources(root));
  const missing = shipped.filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0)
    throw new Error(
      `${missing[0]} is missing (and ${missing.length - 1} more): run npm run build first (npm run bundle does).`,
    );
  rmSync(out, { recursive: true, force: true });
  for (const file of shipped) {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    cpSync(join(root, file), join(out, file));
  }
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(root, file), join(out, file));

  console.log('Installing the production dependencies into build/app (npm ci --omit=dev)…');
  // On Windows npm is npm.cmd, which Node runs only through a shell.
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
    cwd: out,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });

  const entries = files(out).map((path): ZipEntry => ({
    name: relative(out, path).split('\\').join('/'),
    data: readFileSync(path),
  }));
  const zip = join(root, 'build', 'registrar-app.zip');
  writeFileSync(zip, writeZip(entries));
  const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const size = entries.reduce((sum, e) => sum + e.data.length, 0);
  console.log(
    `Wrote build/app and ${relative(root, zip)}: ${entries.length} files, ${megabytes(size)} unpacked, ${megabytes(readFileSync(zip).length)} zipped.`,
  );
  console.log(
    'Deploy it with: az webapp deploy --resource-group <group> --name <APP_SERVICE_NAME> --src-path build/registrar-app.zip --type zip',
  );
}

/** The production project's source files, relative to root with '/' separators, as tsc reads tsconfig.production.json. */
export function productionSources(root: string): string[] {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.production.json'), undefined, host);
  if (!parsed || parsed.errors.length > 0)
    throw new Error(
      `tsconfig.production.json: ${parsed?.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('; ')}`,
    );
  return parsed.fileNames.map((file) => relative(root, file).split('\\').join('/')).sort();
}

/**
 * What build/app takes from dist/: for each production source, what tsc writes for it (src/a.ts → dist/src/a.js
 * and its source map; a JSON file → its copy). Pure, so a unit test can check the list without building.
 */
export function bundleFiles(sources: readonly string[]): string[] {
  return sources.flatMap((source) => {
    if (source.endsWith('.d.ts')) return [];
    if (source.endsWith('.ts'))
      return [`dist/${source.slice(0, -'.ts'.length)}.js`, `dist/${source.slice(0, -'.ts'.length)}.js.map`];
    return [`dist/${source}`];
  });
}

/** Every regular file under dir, in a stable order. Symbolic links (node_modules/.bin) are left out: nothing runs them. */
function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return [];
      return stat.isDirectory() ? files(path) : [path];
    });
}

// Run as `node dist/scripts/bundle.js`; imported by the unit tests for its two functions.
if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
