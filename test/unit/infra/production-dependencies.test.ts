/**
 * What runs in Azure (npm run bundle, the Dockerfile) installs production dependencies only. Every package the
 * compiled bot loads, following its requires from dist/src/index.js, must be one of them; a development
 * dependency would be missing there and crash the process at start or, worse, on the first request that loads it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** The bare package names a compiled file requires (static imports, and dynamic imports compiled to require). */
function requires(file: string): { local: string[]; packages: string[] } {
  const code = readFileSync(file, 'utf8');
  const specifiers = [...code.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]!);
  return {
    local: specifiers.filter((s) => s.startsWith('.')).map((s) => resolveLocal(dirname(file), s)),
    packages: specifiers.filter((s) => !s.startsWith('.')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)),
  };
}

function resolveLocal(from: string, specifier: string): string {
  const base = resolve(from, specifier);
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) if (existsSync(candidate) && candidate.endsWith('.js')) return candidate;
  if (existsSync(base)) return base; // a JSON card template
  throw new Error(`${specifier} required from ${from} does not exist in dist/`);
}

function loadedPackages(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !file.endsWith('.js')) continue;
    seen.add(file);
    const found = requires(file);
    queue.push(...found.local);
    for (const name of found.packages) if (!packages.has(name)) packages.set(name, file.slice(root.length + 1));
  }
  return packages;
}

describe('the production install', () => {
  const entry = join(root, 'dist', 'src', 'index.js');

  it('has every package the bot loads from dist/src/index.js', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const loaded = loadedPackages(entry);
    expect(loaded.size).toBeGreaterThan(10);
    const missing = [...loaded].filter(([name]) => !builtins.has(name) && !(name in pkg.dependencies)).map(([name, from]) => `${name} (required by ${from})`);
    expect(missing).toEqual([]);
  });
});
