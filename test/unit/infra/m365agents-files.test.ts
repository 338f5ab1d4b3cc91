/**
 * The Microsoft 365 Agents Toolkit's project files (m365agents.yml, m365agents.local.yml, m365agents.playground.yml)
 * and the VS Code files that drive them (.vscode/tasks.json, .vscode/launch.json): each project file validates
 * against the toolkit's YAML schema (vendored in test/fixtures/m365agents/), and every file, npm script, task,
 * placeholder and variable they name exists: the settings written for the bot are ones src/config.ts reads, and
 * with realistic ids they make a configuration Registrar starts with. No toolkit runs here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator, type Schema } from 'jsonschema';
import ts from 'typescript';
import { parse } from 'yaml';
import { checkEnv } from '../../../scripts/app-package';
import { loadConfig, variables } from '../../../src/config';
import { localDefaults } from '../../../src/local/demo-identities';

// scripts/app-package loads @microsoft/app-manifest, whose strip-bom@5 is ESM only, which jest's CommonJS runtime
// cannot load: the same stand-in as test/unit/app-package/app-package.test.ts (only checkEnv is used here).
jest.mock('../../../node_modules/@microsoft/app-manifest/node_modules/strip-bom', () => ({
  __esModule: true,
  default: (text: string) => text.replace(/^\uFEFF/, ''),
}));

const root = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const schemaVersion = 'v1.8';
const schema = JSON.parse(read(`test/fixtures/m365agents/yaml.schema.${schemaVersion}.json`)) as Schema & {
  definitions: Record<string, { properties?: { uses?: { const?: string } } }>;
};

interface Step {
  uses: string;
  name?: string;
  with?: Record<string, unknown>;
  writeToEnvironmentFile?: Record<string, string>;
}
type Lifecycle = 'provision' | 'deploy' | 'publish';
type ProjectFile = { version: string; environmentFolderPath?: string } & Partial<Record<Lifecycle, Step[]>>;

/** File name, toolkit environment, and the file parsed. */
const projectFiles = [
  ['m365agents.yml', 'dev'],
  ['m365agents.local.yml', 'local'],
  ['m365agents.playground.yml', 'playground'],
].map(([file, env]) => ({ file: file!, env: env!, text: read(file!), doc: parse(read(file!)) as ProjectFile }));
const byFile = (file: string) => projectFiles.find((p) => p.file === file)!;

const steps = (doc: ProjectFile) => (['provision', 'deploy', 'publish'] as const).flatMap((stage) => doc[stage] ?? []);
const stepsUsing = (doc: ProjectFile, uses: string) => steps(doc).filter((step) => step.uses === uses);

/** The schema's errors for a project file, each located at its step and action, for a readable failure. */
function schemaErrors(doc: unknown): string[] {
  const validator = new Validator();
  if (validator.validate(doc, schema).valid) return [];
  const errors: string[] = [];
  const project = doc as ProjectFile;
  for (const stage of ['provision', 'deploy', 'publish'] as const) {
    (project[stage] ?? []).forEach((step, index) => {
      const definitions = Object.entries(schema.definitions).filter(([, d]) => d.properties?.uses?.const === step.uses);
      if (definitions.length === 0) {
        errors.push(`${stage}[${index}]: no action "${step.uses}" in the schema`);
        return;
      }
      const results = definitions.map(([name]) =>
        validator.validate(step, { ...schema, $ref: `#/definitions/${name}` }),
      );
      if (!results.some((r) => r.valid)) {
        for (const e of results.flatMap((r) => r.errors)) errors.push(`${stage}[${index}] (${step.uses}): ${e.stack}`);
      }
    });
  }
  return errors.length > 0 ? errors : validator.validate(doc, schema).errors.map((e) => e.stack);
}

/** KEY=VALUE names of an env file. */
function envFileNames(path: string): Set<string> {
  return new Set([...read(path).matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
}

const placeholdersIn = (value: unknown) =>
  [...JSON.stringify(value ?? null).matchAll(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);

/** VS Code's JSON with comments, read as VS Code reads it. */
function readJsonc<T>(path: string): T {
  const { config, error } = ts.parseConfigFileTextToJson(path, read(path));
  if (error) throw new Error(`${path}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  return config as T;
}

interface Task {
  label: string;
  type?: string;
  command?: string;
  dependsOn?: string[];
  args?: {
    env?: string;
    ports?: { portNumber: number; writeToEnvironmentFile?: Record<string, string> }[];
    portOccupancy?: number[];
  };
}
interface LaunchConfiguration {
  name: string;
  type: string;
  request: string;
  port?: number;
  program?: string;
  envFile?: string;
  preLaunchTask?: string;
  cascadeTerminateToConfigurations?: string[];
  serverReadyAction?: { pattern: string };
}
const tasks = readJsonc<{ tasks: Task[] }>('.vscode/tasks.json').tasks;
const launch = readJsonc<{
  configurations: LaunchConfiguration[];
  compounds: { name: string; configurations: string[]; preLaunchTask?: string }[];
}>('.vscode/launch.json');
const taskLabels = new Set(tasks.map((t) => t.label));
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const workspace = (path: string) => path.replace('${workspaceFolder}/', '');

/** Names the Dev Tunnel task writes into the environment file of `env`, before provision runs. */
function tunnelOutputs(env: string): string[] {
  return tasks
    .filter((t) => t.command === 'debug-start-local-tunnel' && t.args?.env === env)
    .flatMap((t) => t.args?.ports ?? [])
    .flatMap((port) => Object.values(port.writeToEnvironmentFile ?? {}));
}

/** Realistic values for the placeholders, as the toolkit would resolve them for a developer's tenant. */
const sample: Record<string, string> = {
  BOT_ID: '3f0c8e2a-5b7d-4e91-a6c3-2d4f6b8e0a1c',
  SECRET_BOT_PASSWORD: 'Xy8Q~sample-client-secret-value-0123456789',
  BOT_TENANT_ID: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
  TEAMS_APP_ID: '6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a',
  APP_HOSTNAME: 'k8x2mq7v-3978.euw.devtunnels.ms',
  ADMIN_IDS: 'c0ffee00-1234-4abc-9def-0123456789ab',
  STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  PORT: '3978',
  LOCAL_PLAYGROUND_PORT: '56150',
  LOCAL_TENANT_PORT: '8443',
};
const resolve = (value: unknown) =>
  String(value).replace(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    if (!(name in sample)) throw new Error(`no sample value for the placeholder ${name}`);
    return sample[name]!;
  });

/** The createOrUpdateEnvironmentFile step of `file` that writes `target`, with its placeholders resolved. */
function writtenEnv(file: string, target: string): Record<string, string> {
  const step = stepsUsing(byFile(file).doc, 'file/createOrUpdateEnvironmentFile').find(
    (s) => s.with?.target === target,
  );
  if (!step) throw new Error(`${file} writes no ${target}`);
  return Object.fromEntries(
    Object.entries(step.with!.envs as Record<string, unknown>).map(([name, value]) => [name, resolve(value)]),
  );
}

describe.each(projectFiles)('$file', ({ env, text, doc }) => {
  it(`validates against the toolkit's ${schemaVersion} YAML schema, the one its $schema line names`, () => {
    expect(text.split('\n')[0]).toBe(
      `# yaml-language-server: $schema=https://aka.ms/teams-toolkit/${schemaVersion}/yaml.schema.json`,
    );
    expect(doc.version).toBe(schemaVersion);
    expect(schemaErrors(doc)).toEqual([]);
  });

  it(`has its environment file env/.env.${env}`, () => {
    expect(doc.environmentFolderPath).toBe('./env');
    expect(existsSync(join(root, 'env', `.env.${env}`))).toBe(true);
  });

  it('names files that exist, or that an earlier step writes', () => {
    const written = new Set<string>();
    for (const step of steps(doc)) {
      const w = step.with ?? {};
      const named = [w.manifestPath, w.appPackagePath, w.path, w.parameters, w.artifactFolder].filter(
        (p): p is string => typeof p === 'string',
      );
      for (const template of (w.templates as { path: string; parameters?: string }[] | undefined) ?? [])
        named.push(template.path, ...(template.parameters ? [template.parameters] : []));
      for (const path of named.map((p) => p.replace(/^\.\//, ''))) {
        if (written.has(path)) continue;
        expect({ step: step.uses, path, exists: existsSync(join(root, path)) }).toEqual({
          step: step.uses,
          path,
          exists: true,
        });
      }
      if (step.uses === 'file/createOrUpdateEnvironmentFile') written.add(String(w.target).replace(/^\.\//, ''));
      if (step.uses === 'cli/runNpmCommand' && /^run package\b/.test(String(w.args))) {
        // npm run package -- <settings file>: the file exists or was written above, and the zip is registrar.zip.
        const settings = /^run package -- (\S+)$/.exec(String(w.args))?.[1]?.replace('${{TEAMSFX_ENV}}', env);
        if (settings) expect(written.has(settings) || existsSync(join(root, settings))).toBe(true);
        expect(read('scripts/package-app.ts')).toMatch(/'build', 'registrar\.zip'/);
        written.add('appPackage/build/registrar.zip');
      }
      if (step.uses === 'cli/runNpmCommand' && /^run (bundle|build)\b/.test(String(w.args))) written.add('build/app');
    }
  });

  it('runs npm scripts that package.json has', () => {
    const run = stepsUsing(doc, 'cli/runNpmCommand').map((s) => /^run ([\w:-]+)/.exec(String(s.with?.args))?.[1]);
    expect(run).not.toContain(undefined);
    for (const script of run) expect(Object.keys(scripts)).toContain(script);
  });

  it('fills every placeholder from its environment file, an earlier step, the tunnel task or the toolkit', () => {
    const known = new Set([
      ...envFileNames(`env/.env.${env}`),
      ...tunnelOutputs(env),
      'TEAMSFX_ENV',
      'APP_NAME_SUFFIX',
      'AZURE_SUBSCRIPTION_ID',
      'AZURE_RESOURCE_GROUP_NAME',
    ]);
    const bicepOutputs = [...read('infra/main.bicep').matchAll(/^output (\w+) /gm)].map((m) => m[1]!);
    const unknown: string[] = [];
    for (const step of steps(doc)) {
      for (const name of placeholdersIn(step)) if (!known.has(name)) unknown.push(`${step.uses}: ${name}`);
      for (const name of Object.values(step.writeToEnvironmentFile ?? {})) known.add(name);
      if (step.uses === 'arm/deploy') for (const name of bicepOutputs) known.add(name);
    }
    expect(unknown).toEqual([]);
  });
});

describe('m365agents.local.yml: real Teams from a laptop', () => {
  const { doc } = byFile('m365agents.local.yml');

  it('makes a single-tenant bot identity with a client secret kept in env/.env.local.user', () => {
    const [identity, ...others] = stepsUsing(doc, 'aadApp/create');
    expect(others).toEqual([]);
    expect(stepsUsing(doc, 'botAadApp/create')).toEqual([]); // it would make a multi-tenant app
    expect(identity!.with).toMatchObject({ generateClientSecret: true, signInAudience: 'AzureADMyOrg' });
    expect(identity!.writeToEnvironmentFile).toMatchObject({
      clientId: 'BOT_ID',
      clientSecret: 'SECRET_BOT_PASSWORD',
      tenantId: 'BOT_TENANT_ID',
    });
  });

  it("registers the bot for Teams at the tunnel's /api/messages", () => {
    const [registration] = stepsUsing(doc, 'botFramework/create');
    expect(registration!.with).toMatchObject({
      botId: '${{BOT_ID}}',
      messagingEndpoint: '${{BOT_ENDPOINT}}/api/messages',
      channels: [{ name: 'msteams' }],
    });
    expect(tunnelOutputs('local')).toEqual(expect.arrayContaining(['BOT_ENDPOINT', 'APP_HOSTNAME']));
  });

  it('validates the manifest, builds the package with its command menus, validates and uploads it', () => {
    const order = (doc.provision ?? []).map((s) =>
      s.uses === 'cli/runNpmCommand' ? `npm ${String(s.with?.args).split(' ')[1]}` : s.uses,
    );
    const at = (name: string) => order.indexOf(name);
    expect(at('teamsApp/validateManifest')).toBeGreaterThan(at('teamsApp/create'));
    expect(at('npm package')).toBeGreaterThan(at('aadApp/create'));
    expect(at('teamsApp/validateAppPackage')).toBeGreaterThan(at('npm package'));
    expect(at('teamsApp/update')).toBeGreaterThan(at('teamsApp/validateAppPackage'));
    expect(at('npm setup:permissions')).toBeGreaterThan(at('aadApp/create'));
    // The package settings file holds exactly what npm run package reads.
    const settings = writtenEnv('m365agents.local.yml', './appPackage/build/.env.local');
    expect(Object.keys(checkEnv(settings, 'the local package settings')).sort()).toEqual(Object.keys(settings).sort());
  });

  it("writes only variables Registrar reads, and with the tenant's ids they start it for Teams on loopback", () => {
    const botEnv = writtenEnv('m365agents.local.yml', './.localConfigs');
    expect(Object.keys(botEnv).filter((name) => !(name in variables))).toEqual([]);
    const config = loadConfig(botEnv, localDefaults);
    expect(config).toMatchObject({
      mode: 'teams',
      host: '127.0.0.1',
      port: 3978,
      bot: {
        id: sample.BOT_ID,
        password: sample.SECRET_BOT_PASSWORD,
        type: 'SingleTenant',
        tenantId: sample.BOT_TENANT_ID,
      },
      allowedTenantIds: [sample.BOT_TENANT_ID],
      operators: { ids: [sample.ADMIN_IDS] },
      storage: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' },
      graph: { tenantId: sample.BOT_TENANT_ID, clientId: sample.BOT_ID, clientSecret: sample.SECRET_BOT_PASSWORD },
    });
  });

  it('tunnels to the port the bot listens on', () => {
    const ports = tasks.filter((t) => t.command === 'debug-start-local-tunnel').flatMap((t) => t.args!.ports!);
    expect(ports.map((p) => p.portNumber)).toEqual([
      Number(writtenEnv('m365agents.local.yml', './.localConfigs').PORT),
    ]);
  });
});

describe('m365agents.playground.yml: local mode in the Agents Playground', () => {
  it('writes only variables Registrar reads, and they start local mode', () => {
    const env = writtenEnv('m365agents.playground.yml', './.localConfigs.playground');
    expect(Object.keys(env).filter((name) => !(name in variables))).toEqual([]);
    expect(loadConfig(env, localDefaults)).toMatchObject({
      mode: 'local',
      port: 3978,
      local: { playgroundPort: 56150, tenantPort: 8443 },
    });
  });
});

describe('.vscode/tasks.json and launch.json', () => {
  it('depend on tasks that exist, and their shell tasks run npm scripts and binaries that exist', () => {
    for (const task of tasks) for (const dependency of task.dependsOn ?? []) expect(taskLabels).toContain(dependency);
    for (const task of tasks.filter((t) => t.type === 'shell')) {
      const command = task.command ?? '';
      const npm = /^npm run ([\w:-]+)/.exec(command);
      const npx = /^npx ([\w-]+)/.exec(command);
      expect(npm || npx).toBeTruthy();
      if (npm) expect(Object.keys(scripts)).toContain(npm[1]);
      if (npx) expect(existsSync(join(root, 'node_modules', '.bin', npx[1]!))).toBe(true);
    }
  });

  it("run the toolkit's provision and deploy for environments that have a project file", () => {
    for (const task of tasks.filter((t) => t.type === 'teamsfx' && ['provision', 'deploy'].includes(t.command!))) {
      const project = projectFiles.find((p) => p.env === task.args?.env);
      expect(project?.doc[task.command as Lifecycle]?.length).toBeGreaterThan(0);
    }
    expect(tasks.some((t) => t.type === 'teamsfx' && t.command === 'provision' && t.args?.env === 'local')).toBe(true);
    expect(tasks.some((t) => t.type === 'teamsfx' && t.command === 'deploy' && t.args?.env === 'playground')).toBe(
      true,
    );
  });

  it('start the bot with the settings deploy writes and the inspector the debugger attaches to', () => {
    const start = tasks.find((t) => t.label === 'Start Registrar')!;
    const script = scripts[/^npm run ([\w:-]+)/.exec(start.command!)![1]!]!;
    expect(script).toMatch(/--env-file=\.localConfigs /);
    expect(script).toMatch(/ dist\/src\/index\.js$/);
    expect(existsSync(join(root, 'src', 'index.ts'))).toBe(true);
    const attach = launch.configurations.find((c) => c.request === 'attach')!;
    expect(script).toContain(`--inspect=127.0.0.1:${attach.port}`);
    const checked = tasks.find((t) => t.label === 'Validate prerequisites')!.args!.portOccupancy;
    expect(checked).toEqual(expect.arrayContaining([3978, attach.port]));
  });

  it('name configurations and tasks that exist, and a program the build makes from src/', () => {
    const names = new Set(launch.configurations.map((c) => c.name));
    for (const compound of launch.compounds) {
      for (const name of compound.configurations) expect(names).toContain(name);
      if (compound.preLaunchTask) expect(taskLabels).toContain(compound.preLaunchTask);
    }
    for (const configuration of launch.configurations) {
      if (configuration.preLaunchTask) expect(taskLabels).toContain(configuration.preLaunchTask);
      for (const name of configuration.cascadeTerminateToConfigurations ?? []) expect(names).toContain(name);
    }
    const playground = launch.configurations.find((c) => c.name === 'Debug in Agents Playground')!;
    expect(
      existsSync(
        join(
          root,
          workspace(playground.program!)
            .replace(/^dist\//, '')
            .replace(/\.js$/, '.ts'),
        ),
      ),
    ).toBe(true);
    expect(writtenEnv('m365agents.playground.yml', `./${workspace(playground.envFile!)}`)).toBeTruthy();
    // VS Code opens the Playground when the launcher prints its address.
    expect(read('src/local/start.ts')).toMatch(/`\s*Open the Agents Playground:\s*\$\{playground\.url\}`/);
    expect(
      new RegExp(playground.serverReadyAction!.pattern).exec(
        '  Open the Agents Playground:  http://127.0.0.1:56150',
      )?.[1],
    ).toBe('http://127.0.0.1:56150');
  });

  it("keep the toolkit's secrets and the generated settings out of git", () => {
    for (const path of [
      'env/.env.local.user',
      'env/.env.playground.user',
      '.localConfigs',
      '.localConfigs.playground',
      'appPackage/build/.env.local',
    ]) {
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: true });
    }
    for (const path of ['env/.env.local', 'env/.env.playground', '.vscode/launch.json', '.vscode/tasks.json'])
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: false });
  });
});

function isIgnored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: root, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
