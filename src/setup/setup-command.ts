/**
 * `npm run setup:permissions`: reads the command line and the few variables it honours, signs the administrator in
 * (the Azure CLI's `az login` by default, a client secret with --admin-client-id), builds a Graph client for the
 * cloud GRAPH_CLOUD names (GRAPH_ENDPOINT and AUTHORITY_HOST override it, as for Registrar), runs
 * grantGraphPermissions and prints what it did. scripts/setup-permissions.ts only hands it argv and the environment.
 */
import { AzureCliCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { createGraphClient, graphHosts } from '../adapters/graph/graph-client';
import { clouds } from '../clouds';
import type { GraphCloud } from '../config';
import { formatReport, grantGraphPermissions, type GrantOptions, SetupError } from './grant-permissions';

export const usage = `Grants Registrar's identity the Microsoft Graph application permissions it needs (infra/README.md lists them), idempotently.

Usage: npm run setup:permissions -- [--identity <id>] [--directory-roles] [--dry-run] [--tenant <tenant>] [--admin-client-id <app id>]

  --identity <id>          the client id or object (principal) id of Registrar's identity: for the managed identity infra/main.bicep
                           makes, its BOT_ID output. Default: AZURE_CLIENT_ID.
  --directory-roles        also grant RoleManagement.ReadWrite.Directory, which requests asking for a directory role need.
                           It is tenant administrator power; without it those requests fail at the directory role step.
  --dry-run                say what would be granted; change nothing.
  --tenant <tenant>        the tenant id or domain to sign in to. Default: AZURE_TENANT_ID, else the Azure CLI's current tenant.
  --admin-client-id <id>   sign in as this app registration with the client secret in AZURE_CLIENT_SECRET, instead of the
                           Azure CLI (for automation and tests; needs --tenant or AZURE_TENANT_ID). The app needs the application
                           permissions AppRoleAssignment.ReadWrite.All and Application.Read.All.
  --help                   show this.

Sign-in: by default the administrator's Azure CLI session (az login --tenant <tenant>), as a Privileged Role Administrator or
Global Administrator. For a national cloud, run az cloud set --name AzureUSGovernment (or AzureChinaCloud) before az login,
and set GRAPH_CLOUD (usgov, usgovdod or china) as for Registrar. GRAPH_ENDPOINT and AUTHORITY_HOST override the hosts.

Prints one line per permission (granted, already granted, would grant, not granted) and one per Graph permission the identity
holds that Registrar does not need (extra: reported, never removed). Exit code 0 when done, 1 when not (the message says why).`;

export interface SetupArguments {
  help: boolean;
  identity?: string;
  directoryRoles: boolean;
  dryRun: boolean;
  tenant?: string;
  adminClientId?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const flags = { '--directory-roles': 'directoryRoles', '--dry-run': 'dryRun', '--help': 'help', '-h': 'help' } as const;
const valued = { '--identity': 'identity', '--tenant': 'tenant', '--admin-client-id': 'adminClientId' } as const;

export function parseSetupArguments(argv: readonly string[]): SetupArguments {
  const args: SetupArguments = { help: false, directoryRoles: false, dryRun: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (Object.hasOwn(flags, name) && inline === undefined) {
      args[flags[name as keyof typeof flags]] = true;
    } else if (Object.hasOwn(valued, name)) {
      const value = inline ?? argv[(i += 1)];
      if (!value || value.startsWith('--'))
        throw new SetupError(`${name} needs a value. See npm run setup:permissions -- --help.`);
      args[valued[name as keyof typeof valued]] = value.trim();
    } else {
      throw new SetupError(`Unknown argument "${arg}". See npm run setup:permissions -- --help.`);
    }
  }
  return args;
}

/** The Graph client signed in as the administrator, for the cloud of GRAPH_CLOUD (or the hosts that override it). */
export function adminGraphClient(args: SetupArguments, env: Env): { client: Client; signInHint: string } {
  const cloudName = (env.GRAPH_CLOUD?.trim() || 'global') as GraphCloud;
  if (!Object.hasOwn(clouds, cloudName))
    throw new SetupError(`GRAPH_CLOUD is "${cloudName}": set it to global, usgov, usgovdod or china.`);
  const https = (name: 'GRAPH_ENDPOINT' | 'AUTHORITY_HOST') => {
    const value = env[name]?.trim();
    if (value && !/^https:\/\/[^\s/]+/.test(value))
      throw new SetupError(`${name} is "${value}": it must be an https:// URL.`);
    return value || undefined;
  };
  const { graphHost, authorityHost } = graphHosts({
    cloud: cloudName,
    endpoint: https('GRAPH_ENDPOINT'),
    authorityHost: https('AUTHORITY_HOST'),
  });
  const tenant = args.tenant ?? (env.AZURE_TENANT_ID?.trim() || undefined);

  let credential: TokenCredential;
  let signInHint: string;
  if (args.adminClientId) {
    const secret = env.AZURE_CLIENT_SECRET;
    if (!tenant)
      throw new SetupError('--admin-client-id needs the tenant: pass --tenant <tenant id> or set AZURE_TENANT_ID.');
    if (!secret)
      throw new SetupError(
        `--admin-client-id needs the client secret of ${args.adminClientId} in AZURE_CLIENT_SECRET.`,
      );
    credential = new ClientSecretCredential(tenant, args.adminClientId, secret, {
      authorityHost,
      disableInstanceDiscovery: true,
    });
    signInHint = `Check --admin-client-id ${args.adminClientId}, its client secret in AZURE_CLIENT_SECRET and the tenant ${tenant}.`;
  } else {
    credential = new AzureCliCredential(tenant ? { tenantId: tenant } : {});
    signInHint =
      `Sign in with the Azure CLI first, as a Privileged Role Administrator or Global Administrator: az login${tenant ? ` --tenant ${tenant}` : ''}` +
      ' (for a national cloud, az cloud set --name <cloud> before). Or sign in as an app with --admin-client-id (see --help).';
  }
  return { client: createGraphClient(credential, graphHost), signInHint };
}

/** Runs the command; returns the exit code. `out` gets the report, `err` the failure. */
export async function runSetup(
  argv: readonly string[],
  env: Env,
  io: { out: (line: string) => void; err: (line: string) => void },
  tuning: Pick<GrantOptions, 'stepTimeoutMs' | 'baseDelayMs' | 'maxDelayMs' | 'sleep'> = {},
): Promise<number> {
  try {
    const args = parseSetupArguments(argv);
    if (args.help) {
      io.out(usage);
      return 0;
    }
    const identity = args.identity ?? (env.AZURE_CLIENT_ID?.trim() || undefined);
    if (!identity)
      throw new SetupError(
        "Say whose permissions to set up: --identity <client id or object id of Registrar's identity>, or set AZURE_CLIENT_ID. See --help.",
      );
    const { client, signInHint } = adminGraphClient(args, env);
    const report = await grantGraphPermissions(client, {
      identity,
      directoryRoles: args.directoryRoles,
      dryRun: args.dryRun,
      signInHint,
      ...tuning,
    });
    for (const line of formatReport(report)) io.out(line);
    return 0;
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    io.err(`setup:permissions: ${error.message}`);
    return 1;
  }
}
