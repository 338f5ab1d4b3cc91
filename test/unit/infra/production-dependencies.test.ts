/**
 * What runs in Azure (npm run bundle, the Dockerfile) is the production project (tsconfig.production.json) and
 * production dependencies only. Every package the compiled bot loads, following its requires from src/index.ts,
 * must be one of them; a development dependency would be missing there and crash the process at start or, worse,
 * on the first request that loads it. And the bundle holds every file the bot loads, and no file of the local
 * tenant or of local mode's launchers.
 *
 * The requires are those of the compiled code, compiled here in memory file by file (ts.transpileModule): with
 * isolatedModules on, that is what tsc writes, imports used only as types dropped. So this needs no build.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';
import { bundleFiles, productionSources } from '../../../scripts/bundle';

const root = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  isolatedModules: true,
};

/** The local files (relative to root) and bare package names a source file's compiled code requires. */
function requires(file: string): { local: string[]; packages: string[] } {
  const path = join(root, file);
  if (!file.endsWith('.ts')) return { local: [], packages: [] }; // a JSON card template
  const code = ts.transpileModule(readFileSync(path, 'utf8'), { compilerOptions, fileName: path }).outputText;
  const specifiers = [...code.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]!);
  return {
    local: specifiers.filter((s) => s.startsWith('.')).map((s) => resolveLocal(dirname(path), s)),
    packages: specifiers
      .filter((s) => !s.startsWith('.'))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)),
  };
}

function resolveLocal(from: string, specifier: string): string {
  const base = resolve(from, specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base])
    if (existsSync(candidate) && /\.(ts|json)$/.test(candidate)) return relative(root, candidate).split('\\').join('/');
  throw new Error(`${specifier} required from ${relative(root, from)} does not exist`);
}

/** Every source file the entry loads, and each package with the first file that requires it. */
function loaded(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const found = requires(file);
    queue.push(...found.local);
    for (const name of found.packages) if (!packages.has(name)) packages.set(name, file);
  }
  return { files, packages };
}

const bot = loaded('src/index.ts');
const bundle = bundleFiles(productionSources(root));

describe('the production install', () => {
  it('has every package the bot loads from src/index.ts', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    expect(bot.packages.size).toBeGreaterThan(10);
    const missing = [...bot.packages]
      .filter(([name]) => !builtins.has(name) && !(name in pkg.dependencies))
      .map(([name, from]) => `${name} (required by ${from})`);
    expect(missing).toEqual([]);
  });
});

describe('the production bundle (npm run bundle, the Dockerfile)', () => {
  it('holds the compiled code of every file the bot loads, with its source map', () => {
    expect(bot.files.size).toBeGreaterThan(50);
    const compiled = [...bot.files].flatMap((file) =>
      file.endsWith('.ts')
        ? [`dist/${file.replace(/\.ts$/, '.js')}`, `dist/${file.replace(/\.ts$/, '.js.map')}`]
        : [`dist/${file}`],
    );
    expect(compiled.filter((file) => !bundle.includes(file))).toEqual([]);
  });

  it('holds no file of the local tenant and none of local mode launchers, which the bot never loads', () => {
    const localOnly = bundle.filter(
      (file) =>
        file.startsWith('dist/src/local/tenant/') ||
        /^dist\/src\/local\/(start|playground|playground-main)\.js/.test(file),
    );
    expect(localOnly).toEqual([]);
    // Not true by accident: the tenant has sources (compiled by its own project), and local mode's embedded
    // storage, which the bot uses when BOT_ID is unset, does ship.
    const tenantSources = readdirSync(join(root, 'src', 'local', 'tenant'), { recursive: true }).filter((name) =>
      String(name).endsWith('.ts'),
    );
    expect(tenantSources.length).toBeGreaterThan(20);
    expect(bundle).toContain('dist/src/local/azurite.js');
  });

  it('holds only compiled production code and card templates', () => {
    expect(bundle.filter((file) => !/^dist\/(src\/.*\.js(\.map)?|adaptiveCards\/[\w-]+\.json)$/.test(file))).toEqual(
      [],
    );
    expect(bundle).toContain('dist/src/index.js');
    expect(bundle.filter((file) => file.startsWith('dist/adaptiveCards/')).length).toBeGreaterThan(3);
  });
});

describe('the container image (Dockerfile)', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('compiles the production project alone and copies what the bundle ships', () => {
    expect(dockerfile).toMatch(/^RUN npx tsc -b tsconfig\.production\.json$/m);
    expect(dockerfile).not.toMatch(/npm run build|tsconfig\.build\.json|COPY (scripts|bench)\b/);
    const copied = [...dockerfile.matchAll(/^COPY --from=build \/src\/(\S+) /gm)].map((m) => m[1]!);
    expect(copied.sort()).toEqual(['dist/adaptiveCards', 'dist/src']);
    expect(bundle.every((file) => copied.some((folder) => file.startsWith(`${folder}/`)))).toBe(true);
  });
});
