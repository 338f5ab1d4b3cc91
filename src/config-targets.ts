/**
 * Target directories (TARGET_DIRECTORY_<KEY>): directories other than the Teams tenant where Registrar can create
 * apps, such as an Azure AD B2C tenant or a separate workload tenant. People, groups, approvals and operators stay
 * in the Teams tenant; each target has its own Graph identity, an app registered in that directory that signs in
 * with a client secret or a certificate. A managed identity cannot: it belongs to the tenant of its Azure
 * subscription only (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/managed-identities-faq).
 *
 * One setting per target, its value a JSON object, e.g.
 *   TARGET_DIRECTORY_B2C={"name":"Contoso B2C","tenantId":"…","clientId":"…","clientSecret":"…","ownersGroupId":"…"}
 * Read by config.ts (the only reader of process.env), which hands the variables over.
 */
import { z } from 'zod';
import { isGuid } from './domain/guid';

export const TARGET_PREFIX = 'TARGET_DIRECTORY_';

/** A directory Registrar can create apps in besides the Teams tenant. */
export interface TargetDirectoryConfig {
  /** From the variable's name, lower-case (TARGET_DIRECTORY_B2C → "b2c"): what a request records. */
  key: string;
  /** What people see: "Create the app in: Contoso B2C". */
  name: string;
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  /** A group in the target directory whose user members own the app when the requester names no owners there. */
  ownersGroupId?: string;
}

const guid = (what: string) =>
  z
    .string()
    .trim()
    .refine(isGuid, { message: `${what} must be a GUID` });

const targetSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'name must not be empty')
      .max(60, 'name must be at most 60 characters')
      .refine((v) => /^[\p{L}\p{N} ._()&'-]+$/u.test(v), {
        message: "name must be letters, digits, spaces and . _ ( ) & ' - only",
      }),
    tenantId: guid('tenantId'),
    clientId: guid('clientId'),
    clientSecret: z.string().min(1, 'clientSecret must not be empty').optional(),
    certificatePath: z.string().trim().min(1, 'certificatePath must not be empty').optional(),
    ownersGroupId: guid('ownersGroupId').optional(),
  })
  .strict()
  .refine((t) => !!t.clientSecret !== !!t.certificatePath, {
    message:
      'give exactly one of clientSecret and certificatePath (a managed identity cannot sign in to another tenant)',
  });

const example =
  '{"name":"Contoso B2C","tenantId":"<GUID>","clientId":"<GUID>","clientSecret":"<secret>" or "certificatePath":"<PEM file>","ownersGroupId":"<GUID, optional>"}';

/**
 * The targets named by TARGET_DIRECTORY_* variables, sorted by key, and every problem with them, worded for the
 * startup error (never quoting a secret).
 */
export function parseTargetDirectories(
  env: NodeJS.ProcessEnv,
  teamsTenantId: string | undefined,
): { targets: TargetDirectoryConfig[]; problems: string[] } {
  const targets: TargetDirectoryConfig[] = [];
  const problems: string[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(TARGET_PREFIX) && env[name]?.trim())
    .sort();
  for (const variable of names) {
    const suffix = variable.slice(TARGET_PREFIX.length);
    if (!/^[A-Z][A-Z0-9]{0,19}$/.test(suffix)) {
      problems.push(
        `${variable}: the part after ${TARGET_PREFIX} must be 1 to 20 capital letters and digits, starting with a letter, like ${TARGET_PREFIX}B2C.`,
      );
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(env[variable]!);
    } catch {
      problems.push(`${variable} must be a JSON object: ${example}.`);
      continue;
    }
    const parsed = targetSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) =>
        i.code === 'unrecognized_keys'
          ? `${i.keys.length === 1 ? 'unknown field' : 'unknown fields'} ${i.keys.join(', ')}`
          : i.message,
      );
      problems.push(`${variable}: ${[...new Set(issues)].join('; ')}. Expected: ${example}.`);
      continue;
    }
    const t = parsed.data;
    const target: TargetDirectoryConfig = {
      key: suffix.toLowerCase(),
      name: t.name,
      tenantId: t.tenantId.toLowerCase(),
      clientId: t.clientId.toLowerCase(),
      ...(t.clientSecret ? { clientSecret: t.clientSecret } : {}),
      ...(t.certificatePath ? { certificatePath: t.certificatePath } : {}),
      ...(t.ownersGroupId ? { ownersGroupId: t.ownersGroupId.toLowerCase() } : {}),
    };
    if (teamsTenantId && target.tenantId === teamsTenantId.toLowerCase()) {
      problems.push(
        `${variable}: tenantId ${target.tenantId} is the Teams tenant (AZURE_TENANT_ID); a target directory is another tenant. Remove ${variable}, or name the other tenant.`,
      );
      continue;
    }
    const twin = targets.find((other) => other.tenantId === target.tenantId || other.name === target.name);
    if (twin) {
      problems.push(
        `${variable} names the same ${twin.tenantId === target.tenantId ? `tenant (${target.tenantId})` : `name ("${target.name}")`} as ${TARGET_PREFIX}${twin.key.toUpperCase()}; give each target directory one setting and its own name.`,
      );
      continue;
    }
    targets.push(target);
  }
  return { targets, problems };
}
