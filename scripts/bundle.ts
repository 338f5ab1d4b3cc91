import { execFileSync } from 'node:child_process';
import {
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as ts from 'typescript';
import { ZipFile } from 'yazl';

/**
 * `npm run bundle`: what Azure App Service runs, built from the compiled dist/ (npm run bundle builds first).
 * build/app holds what the production project (tsconfig.production.json) compiles into dist/src and
 * dist/adaptiveCards, package.json, package-lock.json and the production dependencies only (npm ci --omit=dev);
 * build/registrar-app.zip is the same folder for `az webapp deploy --type zip`. The local tenant and local
 * mode's launchers are compiled into the same dist/ tree by their own projects and are not copied.
 * The Agents Toolkit's deploy stage (m365agents.yml) zips build/app itself.
 */
async function main(): Promise<void> {
  const root = process.cwd();
  const built = await bundle(root, join(root, 'build'));
  const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    `Wrote ${relative(root, built.app)} and ${relative(root, built.zip)}: ${built.files} files, ${megabytes(built.bytes)} unpacked, ${megabytes(built.zipBytes)} zipped.`,
  );
  console.log(
    'Deploy it with: az webapp deploy --resource-group <group> --name <APP_SERVICE_NAME> --src-path build/registrar-app.zip --type zip',
  );
}

export interface Bundle {
  /** The folder App Service runs: <out>/app. */
  app: string;
  /** The same folder as a zip: <out>/registrar-app.zip. */
  zip: string;
  files: number;
  bytes: number;
  zipBytes: number;
}

// 1980-01-01 00:00, the earliest date a zip entry holds, and no Info-ZIP extended timestamp (which would carry the
// time zone's offset).
const entryTime = new Date(1980, 0, 1);
const storedBelow = 100;

/**
 * Writes <out>/app and <out>/registrar-app.zip from root's compiled dist/ (npm run bundle: <root>/build); the zip
 * is streamed from the files on disk (writeZip).
 */
export async function bundle(root: string, out: string): Promise<Bundle> {
  const app = join(out, 'app');
  const shipped = bundleFiles(productionSources(root));
  const missing = shipped.filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0)
    throw new Error(
      `${missing[0]} is missing (and ${missing.length - 1} more): run npm run build first (npm run bundle does).`,
    );
  rmSync(app, { recursive: true, force: true });
  for (const file of shipped) {
    mkdirSync(dirname(join(app, file)), { recursive: true });
    cpSync(join(root, file), join(app, file));
  }
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(root, file), join(app, file));

  const shown = relative(root, app).startsWith('..') ? app : relative(root, app);
  console.log(`Installing the production dependencies into ${shown} (npm ci --omit=dev)…`);
  // On Windows npm is npm.cmd, which Node runs only through a shell.
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
    cwd: app,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });

  const zip = join(out, 'registrar-app.zip');
  const shippedFiles = files(app);
  await writeZip(
    shippedFiles.map((file) => ({
      name: relative(app, file.path).split('\\').join('/'),
      size: file.size,
      mode: file.mode,
      open: () => createReadStream(file.path),
    })),
    zip,
  );
  return {
    app,
    zip,
    files: shippedFiles.length,
    bytes: shippedFiles.reduce((sum, file) => sum + file.size, 0),
    zipBytes: statSync(zip).size,
  };
}

/** One file of a zip: its name in the archive ('/' separators), size in bytes, mode (stat's), and its content. */
export interface ZipSource {
  name: string;
  size: number;
  mode: number;
  open: () => Readable;
}

/**
 * Streams entries into a zip at path (yazl), one at a time: each is opened only when the archive reaches it, so no
 * size of tree is held in memory, and past 65,535 entries or 4 GB yazl writes the ZIP64 records. Each entry keeps
 * its mode (executables stay executable) and has the same fixed time, so the zip changes only when its files do.
 */
export async function writeZip(entries: Iterable<ZipSource>, path: string): Promise<void> {
  const archive = new ZipFile();
  for (const entry of entries)
    archive.addReadStreamLazy(
      entry.name,
      {
        mtime: entryTime,
        forceDosTimestamp: true,
        mode: entry.mode,
        size: entry.size,
        // Deflate cannot shrink a file this small, and each deflated entry costs a zlib stream: store it as it is.
        compress: entry.size >= storedBelow,
      },
      (done) => done(null, entry.open()),
    );
  archive.end();
  await pipeline(archive.outputStream, createWriteStream(path));
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

/**
 * Every regular file under dir, in a stable order, with its size and mode. Symbolic links (node_modules/.bin) are
 * left out: nothing runs them.
 */
function files(dir: string): { path: string; size: number; mode: number }[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return [];
      return stat.isDirectory() ? files(path) : [{ path, size: stat.size, mode: stat.mode }];
    });
}

// Run as `node dist/scripts/bundle.js`; imported by the unit tests (the file list, the zip) and by the bundle test.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
