import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fromBufferPromise } from 'yauzl';
import { commands } from '../../../src/domain/commands';
import {
  buildAppPackage,
  checkEnv,
  checkIcons,
  checkManifest,
  fillManifest,
  PackageError,
  parseEnvFile,
  withEnvironment,
  scopes,
} from '../../../scripts/app-package';
import { drawColorIcon, drawOutlineIcon } from '../../../scripts/make-icons';
import { decodeRgbaPng, encodePng, readPngHeader } from '../../../scripts/png';

// @microsoft/app-manifest requires strip-bom@5, which is ESM only: Node 20.19+ loads it natively, jest's CommonJS
// runtime cannot. This stand-in does the same one thing; validation itself runs unchanged.
jest.mock('../../../node_modules/@microsoft/app-manifest/node_modules/strip-bom', () => ({
  __esModule: true,
  default: (text: string) => text.replace(/^\uFEFF/, ''),
}));

const appPackageDir = join(__dirname, '../../../appPackage');
const template = readFileSync(join(appPackageDir, 'manifest.json'), 'utf8');
const env = {
  TEAMS_APP_ID: '6f1c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  BOT_ID: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  APP_HOSTNAME: 'registrar.contoso.com',
};
const icons = () => ({
  'color.png': readFileSync(join(appPackageDir, 'color.png')),
  'outline.png': readFileSync(join(appPackageDir, 'outline.png')),
});

/** The archive's entries in order, read back with yauzl through the central directory (CRCs checked). */
async function unzip(zip: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const archive = await fromBufferPromise(zip, { lazyEntries: true, strictFileNames: true });
  const entries: { name: string; data: Buffer }[] = [];
  for await (const entry of archive.eachEntry())
    entries.push({ name: entry.fileName, data: await buffer(await archive.openReadStreamPromise(entry)) });
  return entries;
}

interface CommandLists {
  bots: { commandLists: { scopes: string[]; commands: { title: string; description: string }[] }[] }[];
}

test('when the package is built from valid settings, then its manifest validates and the zip holds manifest.json and both icons at its root', async () => {
  const entries = await unzip(await buildAppPackage(appPackageDir, env));

  expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'color.png', 'outline.png']);
  const manifest = JSON.parse(entries[0]!.data.toString('utf8')) as Record<string, unknown>;
  await expect(checkManifest(manifest as Parameters<typeof checkManifest>[0])).resolves.toBeUndefined();
  expect(manifest).toMatchObject({
    id: env.TEAMS_APP_ID,
    bots: [{ botId: env.BOT_ID }],
    validDomains: [env.APP_HOSTNAME],
  });
  expect(JSON.stringify(manifest)).not.toContain('${{');
  expect(entries[1]!.data.equals(icons()['color.png'])).toBe(true);
});

test('when the package is built twice from the same settings, then both zips are the same bytes', async () => {
  const first = await buildAppPackage(appPackageDir, env);
  const second = await buildAppPackage(appPackageDir, env);

  expect(first.equals(second)).toBe(true);
});

test('when the manifest is filled, then each scope lists exactly the available commands of src/domain/commands.ts that work there', () => {
  const { bots } = fillManifest(template, env) as unknown as CommandLists;
  const expected = {
    personal: commands.filter((c) => c.available && c.where !== 'channel'),
    team: commands.filter((c) => c.available && c.where !== 'personal'),
    groupChat: commands.filter((c) => c.available && c.where === 'anywhere'),
  };

  expect(bots[0]!.commandLists.map((l) => l.scopes)).toEqual(scopes.map((s) => [s]));
  for (const list of bots[0]!.commandLists) {
    const scope = list.scopes[0] as keyof typeof expected;
    expect(list.commands).toEqual(
      expected[scope].map((c) => ({ title: c.usage.replace(/\s*<[^>]*>/g, ''), description: c.summary })),
    );
  }
  const listed = new Set(bots[0]!.commandLists.flatMap((l) => l.commands.map((c) => c.description)));
  expect(commands.filter((c) => c.available && !listed.has(c.summary))).toEqual([]);
});

test('when the template is read, then it holds no hand-written command lists that could drift', () => {
  expect((JSON.parse(template) as CommandLists).bots[0]!.commandLists).toEqual([]);
});

test('when a setting is missing or invalid, then packaging is refused naming each one', () => {
  const settings = parseEnvFile('# comment\nBOT_ID="not-a-guid"\nAPP_HOSTNAME=https://registrar.contoso.com\n');

  expect(() => checkEnv(settings, '.env.test')).toThrow(PackageError);
  expect(() => checkEnv(settings, '.env.test')).toThrow(
    /TEAMS_APP_ID is missing[\s\S]*BOT_ID is "not-a-guid"[\s\S]*APP_HOSTNAME is "https:\/\/registrar\.contoso\.com"/,
  );
  expect(
    checkEnv(
      parseEnvFile(
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n'),
      ),
      '.env.test',
    ),
  ).toEqual(env);
});

test('when the icons are checked, then color.png is 192×192, outline.png is 32×32 and every outline pixel is transparent or white', () => {
  const { 'color.png': color, 'outline.png': outline } = icons();

  expect(readPngHeader(color, 'color.png')).toMatchObject({ width: 192, height: 192 });
  expect(readPngHeader(outline, 'outline.png')).toMatchObject({ width: 32, height: 32 });
  const { pixels } = decodeRgbaPng(outline, 'outline.png');
  const offWhite = Array.from({ length: pixels.length / 4 }, (_, i) => pixels.subarray(i * 4, i * 4 + 4)).filter(
    ([r, g, b, a]) => a !== 0 && (r !== 255 || g !== 255 || b !== 255),
  );
  expect(offWhite).toEqual([]);
  expect(pixels.some((_, i) => i % 4 === 3 && pixels[i] === 255)).toBe(true);
  expect(() => checkIcons(icons())).not.toThrow();
});

test('when an icon has the wrong size or the outline is not white on transparent, then it is refused', () => {
  const grey = encodePng({ width: 32, height: 32, pixels: new Uint8Array(32 * 32 * 4).fill(128) });
  const small = encodePng({ width: 16, height: 16, pixels: new Uint8Array(16 * 16 * 4) });

  expect(() => checkIcons({ ...icons(), 'outline.png': grey })).toThrow(
    /outline\.png must be white on transparent.*rgba\(128, 128, 128, 128\)/,
  );
  expect(() => checkIcons({ ...icons(), 'color.png': small })).toThrow('color.png is 16×16; Teams requires 192×192.');
});

test('when the manifest breaks the schema, such as an over-long short description, then the error names the field', async () => {
  const manifest = fillManifest(template, env);
  manifest.description = { short: 'x'.repeat(81), full: 'Registrar.' };

  await expect(checkManifest(manifest)).rejects.toThrow(/\/description\/short must NOT have more than 80 characters/);
});

test('when the icons are redrawn by scripts/make-icons.ts, then they match the committed PNGs', () => {
  expect(encodePng(drawColorIcon()).equals(icons()['color.png'])).toBe(true);
  expect(encodePng(drawOutlineIcon()).equals(icons()['outline.png'])).toBe(true);
});

test("settings the file leaves empty come from the environment (the toolkit's first provision); the file's own values win", () => {
  const file = parseEnvFile(
    'TEAMS_APP_ID=\nBOT_ID=11111111-1111-1111-1111-111111111111\nAPP_HOSTNAME=registrar.contoso.com\n',
  );
  const env = checkEnv(
    withEnvironment(file, {
      TEAMS_APP_ID: '22222222-2222-2222-2222-222222222222',
      BOT_ID: '33333333-3333-3333-3333-333333333333',
      PATH: '/usr/bin',
    }),
    'env/.env.dev',
  );
  expect(env).toEqual({
    TEAMS_APP_ID: '22222222-2222-2222-2222-222222222222',
    BOT_ID: '11111111-1111-1111-1111-111111111111',
    APP_HOSTNAME: 'registrar.contoso.com',
  });
  expect(() => checkEnv(withEnvironment(file, {}), 'env/.env.dev')).toThrow(/TEAMS_APP_ID is missing/);
});
