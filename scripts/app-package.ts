import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppManifestUtils, type AppManifest } from '@microsoft/app-manifest';
import { ZipFile } from 'yazl';
import { commands, type CommandInfo } from '../src/domain/commands';
import { decodeRgbaPng, readPngHeader } from './png';

/** A packaging step refused its input; the message says what to fix. */
export class PackageError extends Error {
  override name = 'PackageError';
}

export type Scope = 'personal' | 'team' | 'groupChat';
export const scopes: readonly Scope[] = ['personal', 'team', 'groupChat'];

export interface CommandListItem {
  title: string;
  description: string;
}

// Teams' limits on a bot's command menu (also in the schema, but said here with the fix).
const maxCommands = 10;
const maxTitle = 32;
const maxDescription = 128;

/** Whether a command belongs in a scope's menu: "channel" commands work in a team's channels, not in group chats. */
export function appliesTo(command: CommandInfo, scope: Scope): boolean {
  if (command.where === 'anywhere') return true;
  return scope === 'personal' ? command.where === 'personal' : scope === 'team' && command.where === 'channel';
}

/** The menu for one scope, from src/domain/commands.ts so it cannot drift from what the bot understands. */
export function commandList(scope: Scope): CommandListItem[] {
  const items = commands
    .filter((c) => c.available && appliesTo(c, scope))
    // Teams inserts the title into the compose box, so it carries the words to type, not the placeholders.
    .map((c) => ({ title: c.usage.replace(/\s*<[^>]*>/g, ''), description: c.summary }));
  if (items.length > maxCommands)
    throw new PackageError(
      `The ${scope} command list has ${items.length} commands; Teams shows at most ${maxCommands}. Drop some from that scope in src/domain/commands.ts.`,
    );
  for (const item of items) {
    if (item.title.length > maxTitle)
      throw new PackageError(`Command title "${item.title}" is longer than Teams' ${maxTitle} characters.`);
    if (item.description.length > maxDescription)
      throw new PackageError(`The summary of "${item.title}" is longer than Teams' ${maxDescription} characters.`);
  }
  return items;
}

export interface PackageEnv {
  TEAMS_APP_ID: string;
  BOT_ID: string;
  APP_HOSTNAME: string;
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const hostname = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const expected: Record<keyof PackageEnv, [RegExp, string]> = {
  TEAMS_APP_ID: [guid, 'a GUID that identifies the Teams app (generate one once and keep it)'],
  BOT_ID: [guid, 'the Microsoft App ID of the Azure Bot, a GUID'],
  APP_HOSTNAME: [
    hostname,
    'the host name the bot is served from, without https:// or a path (for example registrar.contoso.com)',
  ],
};

/** KEY=VALUE lines; blank lines and # comments are skipped, quotes around a value are dropped. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    values[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

/**
 * The file's settings, with the ones it leaves empty taken from the environment. The Agents Toolkit hands the values
 * its actions wrote (teamsApp/create's TEAMS_APP_ID, arm/deploy's outputs) to the commands after them as environment
 * variables, but writes them to env/.env.<environment> only when the stage ends: on a first `atk provision` the
 * file still has them empty when `npm run package` runs
 * (https://learn.microsoft.com/microsoftteams/platform/toolkit/teamsfx-multi-env). A value the file sets wins, so a
 * stale variable in someone's shell never changes a package built from a filled-in file.
 */
export function withEnvironment(
  file: Record<string, string>,
  environment: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = { ...file };
  for (const name of Object.keys(expected)) if (!values[name] && environment[name]) values[name] = environment[name];
  return values;
}

/** Checks every variable at once, so one run lists everything to fix. */
export function checkEnv(values: Record<string, string | undefined>, source: string): PackageEnv {
  const problems = Object.entries(expected).flatMap(([name, [pattern, description]]) => {
    const value = values[name];
    if (!value) return [`${name} is missing: set it to ${description}.`];
    return pattern.test(value) ? [] : [`${name} is "${value}", which is not valid: set it to ${description}.`];
  });
  if (problems.length > 0)
    throw new PackageError(`The app package settings in ${source} need fixing:\n- ${problems.join('\n- ')}`);
  return { TEAMS_APP_ID: values.TEAMS_APP_ID!, BOT_ID: values.BOT_ID!, APP_HOSTNAME: values.APP_HOSTNAME! };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Fills the ${{NAME}} placeholders and the bot's command lists into the template. */
export function fillManifest(template: string, env: PackageEnv): Record<string, Json> {
  const filled = template.replace(/\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (placeholder, name: string) => {
    if (!(name in env))
      throw new PackageError(
        `appPackage/manifest.json has the placeholder ${placeholder}, which the package settings do not provide. Use one of ${Object.keys(env).join(', ')}.`,
      );
    return env[name as keyof PackageEnv];
  });
  const manifest = JSON.parse(filled) as Record<string, Json>;
  const bot = (manifest.bots as { [key: string]: Json }[] | undefined)?.[0];
  if (!bot)
    throw new PackageError('appPackage/manifest.json has no bot: it needs bots[0] with the ${{BOT_ID}} placeholder.');
  bot.commandLists = scopes.map((scope) => ({ scopes: [scope], commands: commandList(scope) as unknown as Json }));
  return manifest;
}

/** Validates against the schema that @microsoft/app-manifest bundles for the manifest's $schema, offline. */
export async function checkManifest(manifest: Record<string, Json>): Promise<void> {
  const errors = await AppManifestUtils.validateAgainstSchema(manifest as unknown as AppManifest);
  if (errors.length > 0)
    throw new PackageError(
      `The filled manifest does not match its schema (${String(manifest.$schema)}):\n- ${errors.join('\n- ')}`,
    );
}

export const iconSizes = { 'color.png': 192, 'outline.png': 32 } as const;

/** Teams refuses icons of other sizes, and an outline icon that is not white on transparent. */
export function checkIcons(icons: Record<keyof typeof iconSizes, Buffer>): void {
  for (const [name, size] of Object.entries(iconSizes) as [keyof typeof iconSizes, number][]) {
    const { width, height } = readPngHeader(icons[name], name);
    if (width !== size || height !== size)
      throw new PackageError(`${name} is ${width}×${height}; Teams requires ${size}×${size}.`);
  }
  const outline = decodeRgbaPng(icons['outline.png'], 'outline.png');
  for (let i = 0; i < outline.pixels.length; i += 4) {
    const [r, g, b, a] = outline.pixels.subarray(i, i + 4);
    if (a !== 0 && (r !== 255 || g !== 255 || b !== 255)) {
      const pixel = i / 4;
      throw new PackageError(
        `outline.png must be white on transparent, but pixel (${pixel % outline.width}, ${Math.floor(pixel / outline.width)}) is rgba(${r}, ${g}, ${b}, ${a}).`,
      );
    }
  }
}

/** Builds the zip Teams accepts: manifest.json and the two icons at its root. */
export async function buildAppPackage(appPackageDir: string, env: PackageEnv): Promise<Buffer> {
  const manifest = fillManifest(readFileSync(join(appPackageDir, 'manifest.json'), 'utf8'), env);
  await checkManifest(manifest);
  const icons = {
    'color.png': readFileSync(join(appPackageDir, 'color.png')),
    'outline.png': readFileSync(join(appPackageDir, 'outline.png')),
  };
  checkIcons(icons);
  return zipAtRoot([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    { name: 'color.png', data: icons['color.png'] },
    { name: 'outline.png', data: icons['outline.png'] },
  ]);
}

// 1980-01-01 00:00, the earliest date a zip entry holds: a fixed timestamp (and no Info-ZIP extended timestamp,
// which would carry the time zone's offset) keeps the package byte-for-byte reproducible.
const packageTime = new Date(1980, 0, 1);

/** A zip archive of deflated files at its root, as Teams expects an app package. */
async function zipAtRoot(entries: readonly { name: string; data: Buffer }[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const { name, data } of entries)
    zip.addBuffer(data, name, { mtime: packageTime, forceDosTimestamp: true, compressionLevel: 9 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
