import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeZip, type ZipEntry } from './zip';

/**
 * `npm run bundle`: what Azure App Service runs, built from the compiled dist/ (npm run bundle builds first).
 * build/app holds dist/src, dist/adaptiveCards, package.json, package-lock.json and the production dependencies
 * only (npm ci --omit=dev); build/registrar-app.zip is the same folder for `az webapp deploy --type zip`.
 * The Agents Toolkit's deploy stage (m365agents.yml) zips build/app itself.
 */
function main(): void {
  const root = process.cwd();
  const out = join(root, 'build', 'app');
  for (const needed of ['dist/src/index.js', 'dist/adaptiveCards']) {
    if (!existsSync(join(root, needed))) throw new Error(`${needed} is missing: run npm run build first (npm run bundle does).`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'dist'), { recursive: true });
  cpSync(join(root, 'dist', 'src'), join(out, 'dist', 'src'), { recursive: true });
  cpSync(join(root, 'dist', 'adaptiveCards'), join(out, 'dist', 'adaptiveCards'), { recursive: true });
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(root, file), join(out, file));

  console.log('Installing the production dependencies into build/app (npm ci --omit=dev)…');
  // On Windows npm is npm.cmd, which Node runs only through a shell.
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: out, stdio: 'inherit', shell: process.platform === 'win32' });

  const entries = files(out).map((path): ZipEntry => ({ name: relative(out, path).split('\\').join('/'), data: readFileSync(path) }));
  const zip = join(root, 'build', 'registrar-app.zip');
  writeFileSync(zip, writeZip(entries));
  const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const size = entries.reduce((sum, e) => sum + e.data.length, 0);
  console.log(`Wrote build/app and ${relative(root, zip)}: ${entries.length} files, ${megabytes(size)} unpacked, ${megabytes(readFileSync(zip).length)} zipped.`);
  console.log('Deploy it with: az webapp deploy --resource-group <group> --name <APP_SERVICE_NAME> --src-path build/registrar-app.zip --type zip');
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

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
