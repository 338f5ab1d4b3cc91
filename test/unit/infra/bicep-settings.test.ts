/**
 * infra/main.bicep against src/config.ts: the app settings it deploys are enough for a working Teams deployment
 * (every setting config.ts needs in production), and each is one config.ts reads. No Bicep compiler runs here, so
 * the settings blocks are read from the file and their expressions resolved to what Azure would put there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFiles, productionSources } from '../../../scripts/bundle';
import { type Config, loadConfig, productionGaps, variables } from '../../../src/config';

const root = join(__dirname, '..', '..', '..');
const bicep = readFileSync(join(root, 'infra', 'main.bicep'), 'utf8');

const clientId = '7f3c8f5e-2b1a-4c9d-9e8f-1a2b3c4d5e6f';
const tenantId = '5b1f0c9e-8d7a-4e6b-a5c4-3d2e1f0a9b8c';
const adminGroupId = '0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b';
const connectionString =
  'InstrumentationKey=11111111-2222-3333-4444-555555555555;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

/** A Bicep object literal `var <name> = { KEY: expression ... }`, one entry a line. */
function settingsBlock(name: string): Map<string, string> {
  const match = new RegExp(`^var ${name} = \\{\\n([\\s\\S]*?)\\n\\}`, 'm').exec(bicep);
  if (!match) throw new Error(`infra/main.bicep has no "var ${name} = { ... }" block`);
  const entries = match[1]!
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('//'))
    .map((line) => {
      const entry = /^([A-Z][A-Z0-9_]*): (.+)$/.exec(line);
      if (!entry) throw new Error(`cannot read the setting line "${line}" of ${name}`);
      return [entry[1]!, entry[2]!] as const;
    });
  return new Map(entries);
}

/** Parameters and their defaults (a plain string literal, or an expression). */
function parameters(): Map<string, string | undefined> {
  const found = [...bicep.matchAll(/^param (\w+) (\w+)(?: = (.+))?$/gm)];
  return new Map(found.map((m) => [m[1]!, m[3]]));
}

const params = parameters();
/** What an administrator passes for the parameters without a default (README's deploy step). */
const given: Record<string, string> = { adminGroupId };

/** The value Azure would put in a setting: what the test must know about each expression the Bicep uses. */
function resolve(expression: string, overrides: Record<string, string> = {}): string {
  const literal = /^'([^'$]*)'$/.exec(expression);
  if (literal) return literal[1]!;
  const known: Record<string, string> = {
    'identity.properties.clientId': clientId,
    'identity.properties.tenantId': tenantId,
    'appInsights.properties.ConnectionString': connectionString,
    "'https://${storage.name}.table.${environment().suffixes.storage}'": 'https://registrarx7k2.table.core.windows.net',
  };
  if (expression in known) return known[expression]!;
  if (params.has(expression)) {
    if (expression in overrides) return overrides[expression]!;
    if (expression in given) return given[expression]!;
    const fallback = params.get(expression);
    if (fallback === undefined)
      throw new Error(`parameter ${expression} has no default: add a sample value to "given"`);
    if (expression === 'graphCloud') return 'global'; // the default derived from environment() in the public cloud
    return resolve(fallback);
  }
  throw new Error(`the test cannot resolve the Bicep expression ${expression}: teach resolve() what Azure puts there`);
}

const core = settingsBlock('coreSettings');
const optional = settingsBlock('optionalSettings');

function settingsEnv(overrides: Record<string, string> = {}, withOptional = false): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, expression] of core) env[key] = resolve(expression, overrides);
  if (withOptional) for (const [key, expression] of optional) env[key] = resolve(expression, overrides);
  return env;
}

const local = { tenantId: '00000000-0000-0000-0000-000000000001', operatorIds: [] };

function works(config: Config): boolean {
  return config.mode === 'teams' && config.storage.kind === 'account-url' && productionGaps(config).length === 0;
}

function worksWith(env: Record<string, string>): boolean {
  try {
    return works(loadConfig(env, local));
  } catch {
    return false;
  }
}

describe('infra/main.bicep app settings', () => {
  it('are all settings src/config.ts reads, and nothing else', () => {
    const names = [...core.keys(), ...optional.keys()];
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !(name in variables))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('reach the app only through the appsettings resource, core and optional settings together', () => {
    expect(bicep).toMatch(
      /name: 'appsettings'\n\s+properties: union\(coreSettings, toObject\(filter\(items\(optionalSettings\), s => !empty\(s\.value\)\), s => s\.key, s => s\.value\)\)/,
    );
    expect(bicep).not.toMatch(/appSettings:/);
  });

  it('give a Teams deployment everything config.ts needs in production', () => {
    const config = loadConfig(settingsEnv(), local);
    expect(productionGaps(config)).toEqual([]);
    expect(config).toMatchObject({
      mode: 'teams',
      bot: { id: clientId, type: 'UserAssignedMsi', tenantId },
      allowedTenantIds: [tenantId],
      operators: { groupId: adminGroupId },
      storage: { kind: 'account-url', accountUrl: 'https://registrarx7k2.table.core.windows.net' },
      graph: { cloud: 'global', clientId, tenantId },
      telemetry: { connectionString },
    });
    // The managed identity calls Graph: no secret, no certificate.
    expect(config.graph.clientSecret).toBeUndefined();
    expect(config.graph.certificatePath).toBeUndefined();
    expect(config.bot?.password).toBeUndefined();
  });

  it('need each identity, tenant, storage and operator setting: without any one the deployment would not work', () => {
    expect(worksWith(settingsEnv())).toBe(true);
    const needed = [...core.keys()].filter((key) => {
      const { [key]: _dropped, ...rest } = settingsEnv();
      return !worksWith(rest);
    });
    expect(needed.sort()).toEqual([
      'ADMIN_GROUP_ID',
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'BOT_ID',
      'BOT_TENANT_ID',
      'STORAGE_ACCOUNT_URL',
    ]);
  });

  it('pass the optional groups and tenants through when they are given', () => {
    const approverGroupId = '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f';
    const requesterGroupId = '3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a';
    const otherTenant = '4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b';
    const env = settingsEnv(
      { approverGroupId, requesterGroupId, allowedTenantIds: `${tenantId},${otherTenant}` },
      true,
    );
    const config = loadConfig(env, local);
    expect(config.policy.approvers.groupId).toBe(approverGroupId);
    expect(config.policy.requesterGroupId).toBe(requesterGroupId);
    expect(config.allowedTenantIds).toEqual([tenantId, otherTenant]);
  });

  it('accept every cloud the graphCloud parameter allows', () => {
    const allowed = /@allowed\(\[\n([\s\S]*?)\n\]\)\nparam graphCloud/
      .exec(bicep)?.[1]
      ?.match(/'(\w+)'/g)
      ?.map((v) => v.slice(1, -1));
    expect(allowed).toEqual(['global', 'usgov', 'usgovdod', 'china']);
    for (const cloud of allowed!) expect(loadConfig(settingsEnv({ graphCloud: cloud }), local).graph.cloud).toBe(cloud);
  });

  it('run the bundle App Service starts, on Node 22 LTS, always on, https only, with the health check', () => {
    // The command runs the entry point the production project compiles and npm run bundle ships.
    const entry = /appCommandLine: 'node (\S+)'/.exec(bicep)?.[1];
    expect(entry).toBe('dist/src/index.js');
    expect(existsSync(join(root, 'src', 'index.ts'))).toBe(true);
    expect(bundleFiles(productionSources(root))).toContain(entry);
    expect(params.get('linuxFxVersion')).toBe("'NODE|22-lts'");
    expect(bicep).toMatch(/httpsOnly: true/);
    expect(bicep).toMatch(/alwaysOn: true/);
    expect(bicep).toMatch(/healthCheckPath: '\/healthz'/);
  });

  it('use no keys: shared-key access off, a role assignment for the identity, the bot on the managed identity', () => {
    expect(bicep).toMatch(/allowSharedKeyAccess: false/);
    expect(bicep).toMatch(/var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'/);
    expect(bicep).toMatch(/principalId: identity\.properties\.principalId/);
    expect(bicep).not.toMatch(/listKeys|AccountKey|msaAppPassword|BOT_PASSWORD|AZURE_CLIENT_SECRET/);
    expect(bicep).toMatch(/msaAppType: 'UserAssignedMSI'/);
    expect(bicep).toMatch(/msaAppMSIResourceId: identity\.id/);
    expect(bicep).toMatch(/endpoint: 'https:\/\/\$\{app\.properties\.defaultHostName\}\/api\/messages'/);
    expect(bicep).toMatch(/channelName: 'MsTeamsChannel'/);
  });
});

describe('m365agents.yml and its files', () => {
  const yml = readFileSync(join(root, 'm365agents.yml'), 'utf8');
  const envDev = readFileSync(join(root, 'env', '.env.dev'), 'utf8');
  const parametersFile = JSON.parse(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')) as {
    parameters: Record<string, { value: string }>;
  };
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const envNames = new Set([...envDev.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  const outputs = new Set([...bicep.matchAll(/^output (\w+) /gm)].map((m) => m[1]!));

  it('names files and npm scripts that exist', () => {
    for (const path of [...yml.matchAll(/(?:path|parameters|appPackagePath): \.\/(\S+)/g)].map((m) => m[1]!)) {
      if (!path.startsWith('appPackage/build/')) expect(readFileSync(join(root, path))).toBeTruthy();
    }
    for (const script of [...yml.matchAll(/args: run ([\w:]+)/g)].map((m) => m[1]!))
      expect(scripts).toHaveProperty([script]);
  });

  it('fills every placeholder from the environment file or the Bicep outputs', () => {
    const placeholders = [...`${yml}\n${JSON.stringify(parametersFile)}`.matchAll(/\$\{\{(\w+)\}\}/g)].map(
      (m) => m[1]!,
    );
    const builtIn = new Set(['TEAMSFX_ENV', 'APP_NAME_SUFFIX', 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP_NAME']);
    expect(placeholders.filter((name) => !envNames.has(name) && !outputs.has(name) && !builtIn.has(name))).toEqual([]);
  });

  it('passes only parameters infra/main.bicep declares, and every one without a default', () => {
    for (const name of Object.keys(parametersFile.parameters)) expect(params.has(name)).toBe(true);
    const required = [...params].filter(([, fallback]) => fallback === undefined).map(([name]) => name);
    for (const name of required) expect(parametersFile.parameters).toHaveProperty([name]);
  });

  it('gives the app package what it needs from the Bicep outputs (BOT_ID, APP_HOSTNAME) and the toolkit (TEAMS_APP_ID)', () => {
    expect(outputs.has('BOT_ID') && outputs.has('APP_HOSTNAME') && outputs.has('APP_SERVICE_RESOURCE_ID')).toBe(true);
    expect(yml).toMatch(/teamsAppId: TEAMS_APP_ID/);
    const example = readFileSync(join(root, 'appPackage', '.env.example'), 'utf8');
    for (const name of [...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!)) expect(envNames.has(name)).toBe(true);
  });
});
