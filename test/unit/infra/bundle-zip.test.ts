/**
 * The deploy bundle's zip (scripts/bundle.ts writeZip): today's production install is about 58,000 files, close to
 * the 65,535 entries a zip holds without ZIP64, so the writer must go past that; and what it writes must unpack as
 * App Service's zip deploy would, with each file's mode and a fixed time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { open, type Entry, type ZipFile } from 'yauzl';
import { writeZip, type ZipSource } from '../../../scripts/bundle';

const source = (name: string, text: string, mode = 0o100644): ZipSource => {
  const data = Buffer.from(text);
  return { name, size: data.length, mode, open: () => Readable.from([data]) };
};

/** The archive's entries in order, read through the central directory with yauzl (sizes and CRCs checked). */
async function unzip(path: string, read: (entry: Entry) => boolean = () => true) {
  const archive = await new Promise<ZipFile>((resolve, reject) =>
    open(path, { lazyEntries: true, strictFileNames: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  );
  const entries: { entry: Entry; data?: Buffer }[] = [];
  for await (const entry of archive.eachEntry())
    entries.push({ entry, data: read(entry) ? await buffer(await archive.openReadStreamPromise(entry)) : undefined });
  archive.close();
  return { entryCount: archive.entryCount, entries };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registrar-zip-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writing 65,735 entries takes about 35 s and reading them back about 10 s on a quiet two-core machine (yazl and
 * yauzl spend that on the entries, not the bytes); with the rest of the suite beside it, over twice that.
 */
const MANY_ENTRIES_TIMEOUT_MS = 300_000;

test(
  'when a tree holds more than 65,535 files, then the zip holds every one of them (ZIP64) and each reads back',
  async () => {
    const count = 65_535 + 200;
    const name = (i: number) => `node_modules/p${Math.floor(i / 1000)}/f${i}.js`;
    const zip = join(dir, 'many.zip');
    await writeZip(
      (function* () {
        for (let i = 0; i < count; i++) yield source(name(i), `module.exports = ${i};\n`);
      })(),
      zip,
    );

    const sample = new Set([name(0), name(65_534), name(65_535), name(count - 1)]);
    const { entryCount, entries } = await unzip(zip, (entry) => sample.has(entry.fileName));
    expect(entryCount).toBe(count);
    expect(entries.map((e) => e.entry.fileName)).toEqual(Array.from({ length: count }, (_, i) => name(i)));
    for (const { entry, data } of entries.filter((e) => e.data))
      expect(data!.toString()).toBe(`module.exports = ${entry.fileName.match(/f(\d+)\.js$/)![1]};\n`);
  },
  MANY_ENTRIES_TIMEOUT_MS,
);

test('when files are zipped, then each keeps its mode and content, and every entry has the same fixed time', async () => {
  const zip = join(dir, 'bundle.zip');
  await writeZip(
    [
      source('package.json', '{"name":"registrar"}\n'),
      source('node_modules/tool/bin/tool', '#!/usr/bin/env node\n', 0o100755),
      source('dist/src/index.js', `${'require("./runtime");\n'.repeat(20)}`),
    ],
    zip,
  );

  const { entries } = await unzip(zip);
  expect(entries.map((e) => [e.entry.fileName, (e.entry.externalFileAttributes >>> 16).toString(8)])).toEqual([
    ['package.json', '100644'],
    ['node_modules/tool/bin/tool', '100755'],
    ['dist/src/index.js', '100644'],
  ]);
  expect(entries[1]!.data!.toString()).toBe('#!/usr/bin/env node\n');
  expect(entries[2]!.data!.toString()).toBe('require("./runtime");\n'.repeat(20));
  // Deflated (8), except files too small for deflate to shrink, which are stored (0).
  expect(entries.map((e) => e.entry.compressionMethod)).toEqual([0, 0, 8]);
  expect(entries.map((e) => e.entry.getLastModDate().getTime())).toEqual(Array(3).fill(new Date(1980, 0, 1).getTime()));
  // No extended timestamp (0x5455), which would carry the machine's time zone into the bytes.
  expect(entries.flatMap((e) => e.entry.extraFields.map((field) => field.id))).not.toContain(0x5455);
});

test('when the same files are zipped twice, then both zips are the same bytes', async () => {
  const files = () => [source('a.js', 'a\n'), source('b/c.js', 'c\n', 0o100755)];
  await writeZip(files(), join(dir, 'first.zip'));
  await writeZip(files(), join(dir, 'second.zip'));

  expect(readFileSync(join(dir, 'first.zip')).equals(readFileSync(join(dir, 'second.zip')))).toBe(true);
});
