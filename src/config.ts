/**
 * The only reader of process.env. Parsed once at start, typed, frozen; a wrong value stops the process with a
 * message that names the variable and says what it should be.
 *
 * One file on purpose, though long: the table of variables (checked against the README), their schema, the checks
 * across them and the typed result are read together whenever a setting is added, and split they would drift.
 */
import { resolve as resolvePath } from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { defaultReminderDays } from './domain/expiry';
import { defaultApprovalsByRisk, parseApprovalsByRisk } from './domain/approval-policy';
import type { RiskLevel } from './domain/risk';
import { isGuid } from './domain/guid';
import { isLoopbackUrl } from './lib/loopback';
import { parseTargetDirectories, type TargetDirectoryConfig } from './config-targets';

export type { TargetDirectoryConfig };

/** What each variable means and what it should look like: used in error messages and checked against README. */
export const variables = {
  PORT: 'HTTP port the bot listens on (default 3978).',
  HOST: 'address to listen on when BOT_ID is set (default 0.0.0.0); local mode always listens on 127.0.0.1 only.',
  LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace or silent.',
  BOT_ID:
    'the Microsoft App ID of the Azure Bot (a GUID). Unset means local mode: no inbound authentication, loopback only.',
  BOT_PASSWORD: 'the client secret of the bot identity, for BOT_TYPE MultiTenant or SingleTenant.',
  BOT_TYPE: 'MultiTenant, SingleTenant or UserAssignedMsi (default UserAssignedMsi, as infra/ deploys it).',
  BOT_TENANT_ID: 'the tenant (GUID) of the bot identity; required for SingleTenant and UserAssignedMsi.',
  ALLOWED_TENANT_IDS: 'comma-separated tenant GUIDs whose activities are accepted (default: BOT_TENANT_ID).',
  ADMIN_IDS: 'comma-separated Entra object ids (GUIDs) of operators.',
  ADMIN_GROUP_ID: 'the Entra group (GUID) whose members, direct or nested, are operators.',
  STORAGE_CONNECTION_STRING: 'an Azure Storage connection string for the tables (or set STORAGE_ACCOUNT_URL).',
  STORAGE_ACCOUNT_URL:
    'https://<account>.table.core.windows.net, reached with the managed identity (or set STORAGE_CONNECTION_STRING).',
  STORAGE_TABLE_PREFIX:
    'prefix of the table names, letters and digits (default "registrar"); lets deployments share an account.',
  AZURE_TENANT_ID: 'the tenant (GUID) Registrar manages through Microsoft Graph.',
  AZURE_CLIENT_ID: 'the client id (GUID) of the identity that calls Graph (the managed identity in Azure).',
  AZURE_CLIENT_SECRET:
    'a client secret of that identity (or AZURE_CLIENT_CERTIFICATE_PATH; neither: managed identity).',
  AZURE_CLIENT_CERTIFICATE_PATH: 'a PEM file with the certificate and private key of that identity.',
  GRAPH_CLOUD:
    'global (default), usgov, usgovdod or china: picks the Microsoft Graph, sign-in and Bot Framework endpoints of that cloud.',
  GRAPH_ENDPOINT: 'overrides the Graph host, https://... (tests point it at the local tenant).',
  AUTHORITY_HOST: 'overrides the login host, https://... (tests point it at the local tenant).',
  LOCAL_DATA_DIR: 'local mode: where the embedded Azurite keeps its data (default .registrar).',
  LOCAL_STORAGE_PORT: 'local mode: port of the embedded Azurite table service (default 10002).',
  LOCAL_PLAYGROUND_PORT: 'npm start: port of the Microsoft 365 Agents Playground (default 56150).',
  LOCAL_TENANT_PORT:
    'npm start and npm run tenant: port of the local tenant, the Graph and Entra emulator (default 8443).',
  APPROVER_IDS:
    'comma-separated Entra object ids (GUIDs) of approvers. With APPROVER_GROUP_ID also unset, the operators approve.',
  APPROVER_GROUP_ID: 'the Entra group (GUID) whose members, direct or nested, approve requests.',
  REQUESTER_GROUP_ID: 'the Entra group (GUID) whose members may ask for apps (default: anyone in the allowed tenants).',
  APPROVALS_BY_RISK:
    'distinct approvers each risk needs, as low=1,medium=1,high=2 (the default); 1 to 10 each, never fewer for a higher risk.',
  PENDING_TTL_DAYS: 'days a request waits for a decision before it expires, 1 to 90 (default 7).',
  SECRET_MAX_DAYS:
    'the longest client secret lifetime a request may ask for, in days, 1 to 730 (default 730, that is 24 months).',
  SECRET_DEFAULT_DAYS:
    'the client secret lifetime the form proposes, in days, at most SECRET_MAX_DAYS (default 180, or SECRET_MAX_DAYS if lower).',
  REVEAL_TTL_MINUTES:
    'minutes a revealed client secret stays on screen before the card shows only its hint, 1 to 60 (default 10).',
  APP_NAME_PREFIX:
    'a naming prefix put before every requested app name when it does not start with it, e.g. "app-" (default none).',
  REMINDER_DAYS:
    'days before expiry at which a credential is announced, comma-separated, each 1 to 365 (default 60,30,14,7,1); expired credentials are always announced.',
  REMINDER_SCOPE:
    'which app registrations the expiry scan reads: all (default) or managed (only those Registrar created).',
  REMINDER_FULL_SCAN_DAYS:
    'days after which the expiry scan lists every app registration again instead of reading only what changed since the last scan, 1 to 90 (default 7).',
  REMINDER_CRON:
    'when the expiry scan runs, a cron expression (default "0 8 * * *", daily at 08:00); "off" leaves scans to `scan` and the job endpoint.',
  TZ: 'the time zone REMINDER_CRON is read in, an IANA name such as Europe/Berlin (default UTC).',
  ROTATION_NEEDS_APPROVAL:
    "never, privileged (default) or always: when a rotation by an owner of the app goes through the approvers first. privileged: when the app's service principal holds a high-risk application permission or a directory role. A rotation asked by anyone but an owner always does.",
  DELIVERY_TTL_DAYS:
    "days a provisioned app's client secret waits to be revealed before the delivery expires, 1 to 90 (default 7).",
  OPEN_REQUESTS_PER_USER:
    'how many undecided requests (and rotations) one person may have open at once, 1 to 100 (default 10).',
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    'the connection string of an Application Insights resource; when set, requests, dependencies (Graph, storage) and exceptions are sent there through OpenTelemetry. Unset: no telemetry leaves the process.',
  JOB_TOKEN:
    'a random secret of at least 32 characters; when set, POST /jobs/expiry-scan with "Authorization: Bearer <it>" runs a scan (for an external timer). Unset: no job endpoint.',
  'TARGET_DIRECTORY_<KEY>':
    'a directory other than the Teams tenant (Azure AD B2C, a workload tenant) where apps can be created, one setting per target, as JSON: {"name":"Contoso B2C","tenantId":"<GUID>","clientId":"<GUID>","clientSecret":"<secret>" or "certificatePath":"<PEM file>","ownersGroupId":"<GUID, optional>"}. Its identity is an app registered in that directory.',
} as const;

export type VariableName = keyof typeof variables;

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const guid = (name: VariableName) =>
  optionalText.refine((v) => v === undefined || isGuid(v), { message: `${name} must be a GUID` });

const guidList = (name: VariableName) =>
  optionalText
    .transform((v) => (v === undefined ? [] : v.split(/[\s,;]+/).filter(Boolean)))
    .refine((ids) => ids.every((id) => isGuid(id)), { message: `${name} must be GUIDs separated by commas` })
    .transform((ids) => [...new Set(ids.map((id) => id.toLowerCase()))]);

const httpsUrl = (name: VariableName) =>
  optionalText.refine((v) => v === undefined || /^https:\/\/[^\s/]+/.test(v), {
    message: `${name} must be an https:// URL`,
  });

const port = (name: VariableName, fallback: number) =>
  optionalText
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .refine((v) => Number.isInteger(v) && v >= 0 && v <= 65535, {
      message: `${name} must be a port number, 0 to 65535`,
    });

const wholeNumber = (name: VariableName, fallback: number | undefined, min: number, max: number) =>
  optionalText
    .transform((v) => (v === undefined ? fallback : /^\d{1,6}$/.test(v) ? Number(v) : NaN))
    .refine((v) => v === undefined || (v >= min && v <= max), {
      message: `${name} must be a whole number from ${min} to ${max}`,
    });

const schema = z.object({
  PORT: port('PORT', 3978),
  HOST: optionalText.refine((v) => v === undefined || /^[0-9a-fA-F.:]+$/.test(v), {
    message: 'HOST must be an IP address',
  }),
  LOG_LEVEL: optionalText
    .default('info')
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  BOT_ID: guid('BOT_ID'),
  BOT_PASSWORD: optionalText,
  BOT_TYPE: optionalText.pipe(z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMsi']).optional()),
  BOT_TENANT_ID: guid('BOT_TENANT_ID'),
  ALLOWED_TENANT_IDS: guidList('ALLOWED_TENANT_IDS'),
  ADMIN_IDS: guidList('ADMIN_IDS'),
  ADMIN_GROUP_ID: guid('ADMIN_GROUP_ID'),
  STORAGE_CONNECTION_STRING: optionalText,
  STORAGE_ACCOUNT_URL: httpsUrl('STORAGE_ACCOUNT_URL'),
  STORAGE_TABLE_PREFIX: optionalText
    .default('registrar')
    .refine((v) => v !== undefined && /^[A-Za-z][A-Za-z0-9]{0,39}$/.test(v), {
      message: 'STORAGE_TABLE_PREFIX must start with a letter and hold only letters and digits (at most 40)',
    }),
  AZURE_TENANT_ID: guid('AZURE_TENANT_ID'),
  AZURE_CLIENT_ID: guid('AZURE_CLIENT_ID'),
  AZURE_CLIENT_SECRET: optionalText,
  AZURE_CLIENT_CERTIFICATE_PATH: optionalText,
  GRAPH_CLOUD: optionalText.pipe(z.enum(['global', 'usgov', 'usgovdod', 'china']).default('global')),
  GRAPH_ENDPOINT: httpsUrl('GRAPH_ENDPOINT'),
  AUTHORITY_HOST: httpsUrl('AUTHORITY_HOST'),
  LOCAL_DATA_DIR: optionalText.default('.registrar'),
  LOCAL_STORAGE_PORT: port('LOCAL_STORAGE_PORT', 10002),
  LOCAL_PLAYGROUND_PORT: port('LOCAL_PLAYGROUND_PORT', 56150),
  LOCAL_TENANT_PORT: port('LOCAL_TENANT_PORT', 8443),
  APPROVER_IDS: guidList('APPROVER_IDS'),
  APPROVER_GROUP_ID: guid('APPROVER_GROUP_ID'),
  REQUESTER_GROUP_ID: guid('REQUESTER_GROUP_ID'),
  APPROVALS_BY_RISK: optionalText.transform((v, ctx) => {
    if (v === undefined) return { ...defaultApprovalsByRisk };
    const parsed = parseApprovalsByRisk(v);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `APPROVALS_BY_RISK: ${parsed.message}` });
    return z.NEVER;
  }),
  PENDING_TTL_DAYS: wholeNumber('PENDING_TTL_DAYS', 7, 1, 90),
  SECRET_MAX_DAYS: wholeNumber('SECRET_MAX_DAYS', 730, 1, 730),
  SECRET_DEFAULT_DAYS: wholeNumber('SECRET_DEFAULT_DAYS', undefined, 1, 730),
  REVEAL_TTL_MINUTES: wholeNumber('REVEAL_TTL_MINUTES', 10, 1, 60),
  APP_NAME_PREFIX: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/.test(v), {
    message:
      'APP_NAME_PREFIX must be at most 40 letters, digits, spaces, dots, hyphens or underscores, starting with a letter or digit',
  }),
  REMINDER_DAYS: optionalText.transform((v, ctx) => {
    if (v === undefined) return [...defaultReminderDays];
    const days = v.split(',').map((d) => d.trim());
    if (days.some((d) => !/^\d{1,3}$/.test(d) || Number(d) < 1 || Number(d) > 365)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'REMINDER_DAYS must be comma-separated whole numbers of days from 1 to 365, like 60,30,14,7,1',
      });
      return z.NEVER;
    }
    return [...new Set(days.map(Number))].sort((a, b) => b - a);
  }),
  REMINDER_SCOPE: optionalText.pipe(
    z.enum(['all', 'managed'], { message: 'REMINDER_SCOPE must be all or managed' }).default('all'),
  ),
  REMINDER_FULL_SCAN_DAYS: wholeNumber('REMINDER_FULL_SCAN_DAYS', 7, 1, 90),
  REMINDER_CRON: optionalText.transform((v, ctx) => {
    const value = v ?? '0 8 * * *';
    if (value === 'off') return undefined;
    try {
      new Cron(value, { paused: true, timezone: 'UTC' }).stop();
    } catch (err) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `REMINDER_CRON is not a cron expression Registrar can read (${err instanceof Error ? err.message : String(err)}); for example "0 8 * * *", or "off"`,
      });
      return z.NEVER;
    }
    return value;
  }),
  TZ: optionalText.refine((v) => v === undefined || validTimeZone(v), {
    message: 'TZ must be an IANA time zone name, such as UTC or Europe/Berlin',
  }),
  ROTATION_NEEDS_APPROVAL: optionalText.pipe(
    z
      .enum(['never', 'privileged', 'always'], {
        message: 'ROTATION_NEEDS_APPROVAL must be never, privileged or always',
      })
      .default('privileged'),
  ),
  DELIVERY_TTL_DAYS: wholeNumber('DELIVERY_TTL_DAYS', 7, 1, 90),
  OPEN_REQUESTS_PER_USER: wholeNumber('OPEN_REQUESTS_PER_USER', 10, 1, 100),
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText.refine(
    (v) => v === undefined || /(^|;)\s*(InstrumentationKey|ConnectionString)=/i.test(v),
    {
      message:
        'APPLICATIONINSIGHTS_CONNECTION_STRING must be an Application Insights connection string, "InstrumentationKey=...;IngestionEndpoint=https://..."',
    },
  ),
  JOB_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 32, {
    message: 'JOB_TOKEN must be at least 32 characters (a random secret)',
  }),
});

function validTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

type Raw = z.infer<typeof schema>;

export type BotType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMsi';
export type GraphCloud = 'global' | 'usgov' | 'usgovdod' | 'china';

export type StorageConfig =
  | { kind: 'connection-string'; connectionString: string; tablePrefix: string }
  | { kind: 'account-url'; accountUrl: string; tablePrefix: string }
  /** Local mode: the embedded Azurite, started by the bot, data under dataDir. */
  | { kind: 'embedded'; dataDir: string; port: number; tablePrefix: string };

/** Credential-expiry reminders (issue 5). */
export interface ReminderConfig {
  /** Days before expiry, most distant first (expired is always announced too). */
  days: readonly number[];
  scope: 'all' | 'managed';
  /** Days after which a scan lists the tenant again rather than reading its changes. */
  fullScanDays: number;
  /** Unset: no schedule in this process (REMINDER_CRON=off). */
  cron?: string;
  timeZone: string;
  /** The bearer token of POST /jobs/expiry-scan; unset: no job endpoint. */
  jobToken?: string;
}

/** Request policy: who approves, how many must, and the limits of what can be asked. */
export interface PolicyConfig {
  approvalsByRisk: Readonly<Record<RiskLevel, number>>;
  pendingTtlDays: number;
  secretMaxDays: number;
  secretDefaultDays: number;
  revealTtlMinutes: number;
  namePrefix?: string;
  /** From APPROVER_IDS and APPROVER_GROUP_ID; when both are unset, the operators (or local mode's demo approvers). */
  approvers: { ids: readonly string[]; groupId?: string };
  /** Unset: anyone in the allowed tenants may ask for an app. */
  requesterGroupId?: string;
  /** When an owner's rotation needs the approvers (ROTATION_NEEDS_APPROVAL); anyone else's always does. */
  rotationNeedsApproval: 'never' | 'privileged' | 'always';
  /** Days a provisioned secret waits to be revealed before the delivery expires (DELIVERY_TTL_DAYS). */
  deliveryTtlDays: number;
  /** Undecided requests one person may have open at once (OPEN_REQUESTS_PER_USER). */
  openRequestsPerUser: number;
}

export interface LocalConfig {
  dataDir: string;
  playgroundPort: number;
  tenantPort: number;
}

export interface Config {
  /** local: no BOT_ID, loopback only, embedded storage and demo identities; teams: a real Azure Bot. */
  mode: 'local' | 'teams';
  port: number;
  /** 127.0.0.1 in local mode; all interfaces when Bot Framework authentication is on. */
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bot?: { id: string; password?: string; type: BotType; tenantId?: string };
  allowedTenantIds: readonly string[];
  operators: { ids: readonly string[]; groupId?: string };
  storage: StorageConfig;
  policy: PolicyConfig;
  reminders: ReminderConfig;
  /** Local mode's own tools (npm start). */
  local: LocalConfig;
  /** Application Insights through the Azure Monitor OpenTelemetry distro; unset: nothing is sent. */
  telemetry: { connectionString?: string };
  graph: {
    cloud: GraphCloud;
    endpoint?: string;
    authorityHost?: string;
    tenantId?: string;
    clientId?: string;
    clientSecret?: string;
    certificatePath?: string;
    /**
     * The CA bundle that trusts the local tenant's TLS certificate (NODE_EXTRA_CA_CERTS, made absolute), when
     * GRAPH_ENDPOINT and AUTHORITY_HOST both name a loopback host: the delivery card's token request names it for
     * curl, which trusts only the system's CAs. Unset against a real cloud, whose hosts every client trusts.
     */
    localCaFile?: string;
  };
  /** Directories other than the Teams tenant where apps can be created (TARGET_DIRECTORY_<KEY>), sorted by key. */
  targets: readonly TargetDirectoryConfig[];
}

/** The identities the local Agents Playground uses (see src/local/demo-identities.ts), so that local mode works with no setup. */
export interface LocalDefaults {
  tenantId: string;
  operatorIds: readonly string[];
  /** The demo approvers, when local mode names none. */
  approverIds?: readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Registrar cannot start: the configuration is wrong.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(name: string): string {
  return name in variables ? ` Expected: ${variables[name as VariableName]}` : '';
}

function crossCheck(raw: Raw): string[] {
  const problems: string[] = [];
  const need = (cond: boolean, message: string) => {
    if (!cond) problems.push(message);
  };
  if (raw.BOT_ID) {
    const type = raw.BOT_TYPE ?? 'UserAssignedMsi';
    need(
      type === 'UserAssignedMsi' || !!raw.BOT_PASSWORD,
      `BOT_PASSWORD is required when BOT_TYPE is ${type}. Set it to the bot's client secret, or use BOT_TYPE=UserAssignedMsi.`,
    );
    need(
      type !== 'UserAssignedMsi' || !raw.BOT_PASSWORD,
      'BOT_PASSWORD is set but BOT_TYPE is UserAssignedMsi, which uses no password. Remove BOT_PASSWORD or set BOT_TYPE.',
    );
    need(
      type === 'MultiTenant' || !!raw.BOT_TENANT_ID,
      `BOT_TENANT_ID is required when BOT_TYPE is ${type}. Set it to the tenant of the bot identity.`,
    );
    need(
      !!raw.STORAGE_CONNECTION_STRING || !!raw.STORAGE_ACCOUNT_URL,
      'STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_URL is required when BOT_ID is set. Only local mode (no BOT_ID) starts its own storage.',
    );
    need(
      raw.ADMIN_IDS.length > 0 || !!raw.ADMIN_GROUP_ID,
      'ADMIN_IDS or ADMIN_GROUP_ID is required when BOT_ID is set, or nobody could name the approvals and reminders channels.',
    );
    need(
      raw.ALLOWED_TENANT_IDS.length > 0 || !!raw.BOT_TENANT_ID,
      'ALLOWED_TENANT_IDS is required when BOT_ID is set and BOT_TENANT_ID is not: say which tenants may use the bot.',
    );
  } else {
    need(
      !raw.HOST || raw.HOST === '127.0.0.1',
      'HOST is set without BOT_ID: local mode has no authentication and listens on 127.0.0.1 only. Set BOT_ID to serve other hosts.',
    );
    need(
      !raw.BOT_PASSWORD && !raw.BOT_TYPE,
      'BOT_PASSWORD or BOT_TYPE is set without BOT_ID. Set BOT_ID to the Azure Bot app id, or unset them for local mode.',
    );
  }
  need(
    raw.SECRET_DEFAULT_DAYS === undefined || raw.SECRET_DEFAULT_DAYS <= (raw.SECRET_MAX_DAYS ?? 730),
    `SECRET_DEFAULT_DAYS (${raw.SECRET_DEFAULT_DAYS}) is longer than SECRET_MAX_DAYS (${raw.SECRET_MAX_DAYS}); lower it or raise SECRET_MAX_DAYS.`,
  );
  need(
    !(raw.STORAGE_CONNECTION_STRING && raw.STORAGE_ACCOUNT_URL),
    'Set only one of STORAGE_CONNECTION_STRING and STORAGE_ACCOUNT_URL.',
  );
  need(
    !(raw.AZURE_CLIENT_SECRET && raw.AZURE_CLIENT_CERTIFICATE_PATH),
    'Set only one of AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH.',
  );
  need(
    !(raw.AZURE_CLIENT_SECRET || raw.AZURE_CLIENT_CERTIFICATE_PATH) || (!!raw.AZURE_TENANT_ID && !!raw.AZURE_CLIENT_ID),
    'AZURE_TENANT_ID and AZURE_CLIENT_ID are required with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH.',
  );
  return problems;
}

/** The value of `key` in a connection string ("Key=value;Key=value"), its key read case-insensitively. */
function connectionStringPart(connectionString: string, key: string): string | undefined {
  const prefix = `${key.toLowerCase()}=`;
  const part = connectionString.split(';').find((p) => p.trim().toLowerCase().startsWith(prefix));
  return part?.trim().slice(prefix.length).trim();
}

/**
 * The settings, present without BOT_ID, that only a deployment has: a storage account that is not a local Azurite,
 * a Graph identity that is not the local tenant's, Application Insights that is not a local endpoint, and App
 * Service's own WEBSITE_* variables (https://learn.microsoft.com/en-us/azure/app-service/reference-app-settings).
 * Local mode is chosen by setting none of them; a deployment that lost BOT_ID must not fall into it.
 */
function deploymentSettings(raw: Raw, env: NodeJS.ProcessEnv, hasTargets: boolean): string[] {
  const found: string[] = [];
  const storage = raw.STORAGE_CONNECTION_STRING;
  if (
    storage &&
    !/^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(storage) &&
    !isLoopbackUrl(connectionStringPart(storage, 'TableEndpoint') ?? '')
  ) {
    found.push('STORAGE_CONNECTION_STRING (a storage account, not an Azurite on a loopback TableEndpoint)');
  }
  if (raw.STORAGE_ACCOUNT_URL && !isLoopbackUrl(raw.STORAGE_ACCOUNT_URL))
    found.push('STORAGE_ACCOUNT_URL (a storage account)');
  const identity: string[] = (
    ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH'] as const
  ).filter((name) => raw[name]);
  const localTenant = isLoopbackUrl(raw.GRAPH_ENDPOINT ?? '') && isLoopbackUrl(raw.AUTHORITY_HOST ?? '');
  if (hasTargets) identity.push('TARGET_DIRECTORY_*');
  if (identity.length > 0 && !localTenant) {
    found.push(
      `${identity.join(', ')} (a Microsoft Graph identity, while GRAPH_ENDPOINT and AUTHORITY_HOST do not both name a loopback host, as the local tenant's do)`,
    );
  }
  const insights = raw.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (insights && !isLoopbackUrl(connectionStringPart(insights, 'IngestionEndpoint') ?? '')) {
    found.push('APPLICATIONINSIGHTS_CONNECTION_STRING (an Application Insights resource)');
  }
  const appService = Object.keys(env)
    .filter((name) => name.startsWith('WEBSITE_') && env[name]?.trim())
    .sort();
  if (appService.length > 0)
    found.push(
      `${appService.slice(0, 3).join(', ')}${appService.length > 3 ? ', ...' : ''} (set by Azure App Service)`,
    );
  return found;
}

/**
 * Reads the configuration from `env`. Throws ConfigError listing every problem at once.
 * `localDefaults` fills what local mode needs so that `npm start` works with no configuration.
 */
export function loadConfig(env: NodeJS.ProcessEnv, localDefaults: LocalDefaults): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '');
        const got = env[name];
        const shown = got === undefined || /SECRET|PASSWORD|CONNECTION_STRING/.test(name) ? '' : ` (got "${got}")`;
        return `${issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`}${shown}.${describe(name)}`;
      }),
    );
  }
  const raw = parsed.data;
  const problems = crossCheck(raw);
  const targets = parseTargetDirectories(env, raw.AZURE_TENANT_ID);
  problems.push(...targets.problems);
  const deployment = raw.BOT_ID ? [] : deploymentSettings(raw, env, targets.targets.length > 0);
  if (deployment.length > 0) {
    problems.push(
      `BOT_ID is not set, but this looks like a deployment: ${deployment.join('; ')}. Without BOT_ID Registrar would run in local mode, ` +
        "with no Bot Framework authentication and demo operators. To serve Teams, set BOT_ID to the Azure Bot's app id (the BOT_ID output of " +
        'infra/main.bicep); to run locally, unset these.',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const local = !raw.BOT_ID;
  const tablePrefix = raw.STORAGE_TABLE_PREFIX ?? 'registrar';
  const storage: StorageConfig = raw.STORAGE_CONNECTION_STRING
    ? { kind: 'connection-string', connectionString: raw.STORAGE_CONNECTION_STRING, tablePrefix }
    : raw.STORAGE_ACCOUNT_URL
      ? { kind: 'account-url', accountUrl: raw.STORAGE_ACCOUNT_URL, tablePrefix }
      : { kind: 'embedded', dataDir: raw.LOCAL_DATA_DIR ?? '.registrar', port: raw.LOCAL_STORAGE_PORT, tablePrefix };

  const allowedTenantIds =
    raw.ALLOWED_TENANT_IDS.length > 0
      ? raw.ALLOWED_TENANT_IDS
      : raw.BOT_TENANT_ID
        ? [raw.BOT_TENANT_ID.toLowerCase()]
        : local
          ? [localDefaults.tenantId]
          : [];
  const operatorIds =
    raw.ADMIN_IDS.length > 0 || raw.ADMIN_GROUP_ID || !local ? raw.ADMIN_IDS : [...localDefaults.operatorIds];

  const config: Config = {
    mode: local ? 'local' : 'teams',
    port: raw.PORT,
    host: local ? '127.0.0.1' : (raw.HOST ?? '0.0.0.0'),
    logLevel: raw.LOG_LEVEL ?? 'info',
    bot: raw.BOT_ID
      ? {
          id: raw.BOT_ID,
          password: raw.BOT_PASSWORD,
          type: raw.BOT_TYPE ?? 'UserAssignedMsi',
          tenantId: raw.BOT_TENANT_ID,
        }
      : undefined,
    allowedTenantIds,
    operators: { ids: operatorIds, groupId: raw.ADMIN_GROUP_ID?.toLowerCase() },
    storage,
    policy: {
      approvalsByRisk: raw.APPROVALS_BY_RISK,
      pendingTtlDays: raw.PENDING_TTL_DAYS ?? 7,
      secretMaxDays: raw.SECRET_MAX_DAYS ?? 730,
      secretDefaultDays: raw.SECRET_DEFAULT_DAYS ?? Math.min(180, raw.SECRET_MAX_DAYS ?? 730),
      revealTtlMinutes: raw.REVEAL_TTL_MINUTES ?? 10,
      namePrefix: raw.APP_NAME_PREFIX,
      approvers:
        raw.APPROVER_IDS.length > 0 || raw.APPROVER_GROUP_ID
          ? { ids: raw.APPROVER_IDS, groupId: raw.APPROVER_GROUP_ID?.toLowerCase() }
          : local && localDefaults.approverIds
            ? { ids: [...localDefaults.approverIds] }
            : { ids: operatorIds, groupId: raw.ADMIN_GROUP_ID?.toLowerCase() },
      requesterGroupId: raw.REQUESTER_GROUP_ID?.toLowerCase(),
      rotationNeedsApproval: raw.ROTATION_NEEDS_APPROVAL ?? 'privileged',
      deliveryTtlDays: raw.DELIVERY_TTL_DAYS ?? 7,
      openRequestsPerUser: raw.OPEN_REQUESTS_PER_USER ?? 10,
    },
    reminders: {
      days: raw.REMINDER_DAYS,
      scope: raw.REMINDER_SCOPE ?? 'all',
      fullScanDays: raw.REMINDER_FULL_SCAN_DAYS ?? 7,
      ...(raw.REMINDER_CRON ? { cron: raw.REMINDER_CRON } : {}),
      timeZone: raw.TZ ?? 'UTC',
      ...(raw.JOB_TOKEN ? { jobToken: raw.JOB_TOKEN } : {}),
    },
    telemetry: raw.APPLICATIONINSIGHTS_CONNECTION_STRING
      ? { connectionString: raw.APPLICATIONINSIGHTS_CONNECTION_STRING }
      : {},
    local: {
      dataDir: raw.LOCAL_DATA_DIR ?? '.registrar',
      playgroundPort: raw.LOCAL_PLAYGROUND_PORT,
      tenantPort: raw.LOCAL_TENANT_PORT,
    },
    graph: {
      cloud: raw.GRAPH_CLOUD ?? 'global',
      endpoint: raw.GRAPH_ENDPOINT,
      authorityHost: raw.AUTHORITY_HOST,
      tenantId: raw.AZURE_TENANT_ID,
      clientId: raw.AZURE_CLIENT_ID,
      clientSecret: raw.AZURE_CLIENT_SECRET,
      certificatePath: raw.AZURE_CLIENT_CERTIFICATE_PATH,
      ...localCaFileOf(raw, env),
    },
    targets: targets.targets,
  };
  return deepFreeze(config);
}

/** NODE_EXTRA_CA_CERTS is Node's variable, not Registrar's (so not in `variables`): read only for the local tenant. */
function localCaFileOf(
  raw: { GRAPH_ENDPOINT?: string | undefined; AUTHORITY_HOST?: string | undefined },
  env: NodeJS.ProcessEnv,
): { localCaFile?: string } {
  const file = env.NODE_EXTRA_CA_CERTS?.trim();
  const localTenant = isLoopbackUrl(raw.GRAPH_ENDPOINT ?? '') && isLoopbackUrl(raw.AUTHORITY_HOST ?? '');
  return file && localTenant ? { localCaFile: resolvePath(file) } : {};
}

/**
 * What a deployment serving Teams lacks to do its work, in words for the startup log (empty in local mode and
 * when nothing is missing). loadConfig already refuses what cannot work at all; these start but cannot provision.
 */
export function productionGaps(config: Config): string[] {
  if (config.mode === 'local') return [];
  const gaps: string[] = [];
  if (!config.graph.clientId)
    gaps.push(
      "AZURE_CLIENT_ID is not set: Microsoft Graph is called as whatever identity DefaultAzureCredential finds; in Azure, set it to the managed identity's client id.",
    );
  if (!config.graph.tenantId)
    gaps.push(
      'AZURE_TENANT_ID is not set: a new client secret cannot be checked by signing in with it before it is shown.',
    );
  return gaps;
}

/** What the startup log may say about the configuration: no secrets, no connection strings. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    mode: config.mode,
    listen: `${config.host}:${config.port}`,
    bot: config.bot ? { id: config.bot.id, type: config.bot.type, tenantId: config.bot.tenantId } : 'none (local mode)',
    allowedTenantIds: config.allowedTenantIds,
    operators: { ids: config.operators.ids.length, groupId: config.operators.groupId ?? null },
    storage:
      config.storage.kind === 'embedded'
        ? `embedded Azurite, data in ${config.storage.dataDir}`
        : config.storage.kind === 'account-url'
          ? config.storage.accountUrl
          : 'connection string',
    graphCloud: config.graph.cloud,
    gaps: productionGaps(config),
    telemetry: config.telemetry.connectionString ? 'Application Insights' : 'off',
    targets: config.targets.map((t) => ({
      key: t.key,
      name: t.name,
      tenantId: t.tenantId,
      clientId: t.clientId,
      credential: t.clientSecret ? 'client secret' : 'certificate',
      ownersGroupId: t.ownersGroupId ?? null,
    })),
    policy: {
      approvalsByRisk: config.policy.approvalsByRisk,
      pendingTtlDays: config.policy.pendingTtlDays,
      secretDays: { default: config.policy.secretDefaultDays, max: config.policy.secretMaxDays },
      approvers: { ids: config.policy.approvers.ids.length, groupId: config.policy.approvers.groupId ?? null },
      requesterGroupId: config.policy.requesterGroupId ?? null,
      rotationNeedsApproval: config.policy.rotationNeedsApproval,
      deliveryTtlDays: config.policy.deliveryTtlDays,
      openRequestsPerUser: config.policy.openRequestsPerUser,
    },
    reminders: {
      days: config.reminders.days,
      scope: config.reminders.scope,
      schedule: config.reminders.cron ? `${config.reminders.cron} (${config.reminders.timeZone})` : 'off',
      jobEndpoint: config.reminders.jobToken ? 'on' : 'off',
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
