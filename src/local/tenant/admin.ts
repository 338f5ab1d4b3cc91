/**
 * The local tenant's admin API, under /_emulator/, for tests and people: reset or seed the directory, set faults,
 * read and clear the call counters, and learn how to connect. No token: it answers loopback callers only.
 *
 *   POST   /_emulator/reset      {"seed":"demo"|"empty"} (default demo); also clears faults and counters
 *   POST   /_emulator/seed       {"name":"demo"|"empty"} or a whole TenantData document
 *   GET    /_emulator/faults     the FaultSettings in force (counted faults at what is left of them)
 *   PUT    /_emulator/faults     replaces the FaultSettings
 *   GET    /_emulator/counters   {"calls":{"GET /applications":3,...},"total":3}
 *   DELETE /_emulator/counters
 *   GET    /_emulator/info       tenant id, domain, URLs, Registrar's client id (and the demo seed's local secret)
 */
import { z } from 'zod';
import type { CallCounters, FaultPolicy, FaultSettings } from './faults';
import { DEMO_REGISTRAR_SECRET, demoTenant } from './seed';
import { emptyTenant, type TenantData, type TenantState } from './state';

export interface AdminTarget {
  url(): string;
  state(): TenantState;
  replace(data: TenantData): void;
  faults: FaultPolicy;
  counters: CallCounters;
  /** Registrar's identity in this tenant, if known. */
  registrar: { clientId: string; clientSecret?: string } | undefined;
}

export interface AdminAnswer {
  status: number;
  body?: unknown;
}

const count = z.number().int().nonnegative();
const faultSettingsSchema = z
  .object({
    throttle: z
      .object({
        capacity: z.number().positive(),
        refillPerSecond: z.number().nonnegative(),
        retryAfterSeconds: count.optional(),
        writes: z
          .object({ capacity: z.number().positive(), refillPerSecond: z.number().nonnegative() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    unavailable: z
      .object({ rate: z.number().min(0).max(1), retryAfterSeconds: count.optional(), count: count.optional() })
      .strict()
      .optional(),
    replicationDelayMs: count.optional(),
    credentialDelayMs: count.optional(),
    loseResponses: count.optional(),
    concurrencyViolations: count.optional(),
    latencyMs: count.optional(),
  })
  .strict();

/** Parses fault settings from JSON (PUT /_emulator/faults, TENANT_FAULTS); throws with what is wrong. */
export function parseFaultSettings(value: unknown): FaultSettings {
  const parsed = faultSettingsSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `Fault settings are wrong: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

const SEEDS = ['demo', 'empty'] as const;

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function isTenantData(value: unknown): value is TenantData {
  const v = value as Partial<TenantData> | undefined;
  return (
    !!v &&
    typeof v.tenantId === 'string' &&
    typeof v.domain === 'string' &&
    [
      'applications',
      'servicePrincipals',
      'users',
      'groups',
      'appRoleAssignments',
      'oauth2PermissionGrants',
      'roleAssignments',
      'deletedItems',
    ].every((k) => typeof (v as Record<string, unknown>)[k] === 'object' && (v as Record<string, unknown>)[k] !== null)
  );
}

const problem = (status: number, message: string): AdminAnswer => ({
  status,
  body: { error: { code: 'BadRequest', message } },
});

export function createAdmin(target: AdminTarget): {
  handle(method: string, path: string, body: unknown, remoteAddress: string | undefined): AdminAnswer;
} {
  function seed(name: string): AdminAnswer | undefined {
    if (name === 'demo') {
      const demo = demoTenant();
      target.replace(demo.data);
      target.registrar = demo.registrar;
      return undefined;
    }
    if (name === 'empty') {
      const current = target.state().data;
      target.replace(emptyTenant(current.tenantId, current.domain));
      return undefined;
    }
    return problem(400, `Unknown seed '${name}'. Use one of: ${SEEDS.join(', ')}, or send a whole tenant document.`);
  }

  function summary(): Record<string, number | string> {
    const data = target.state().data;
    return {
      tenantId: data.tenantId,
      applications: Object.keys(data.applications).length,
      servicePrincipals: Object.keys(data.servicePrincipals).length,
      users: Object.keys(data.users).length,
      groups: Object.keys(data.groups).length,
    };
  }

  function info(): unknown {
    const data = target.state().data;
    const url = target.url();
    const registrar = target.registrar;
    const known = registrar && target.state().appIdToApplication.has(registrar.clientId.toLowerCase());
    return {
      tenantId: data.tenantId,
      domain: data.domain,
      baseUrl: url,
      authorityHost: url,
      graphEndpoint: url,
      tokenEndpoint: `${url}/${data.tenantId}/oauth2/v2.0/token`,
      registrar: known
        ? {
            clientId: registrar.clientId,
            // Only the demo seed's published, local-only secret is ever shown.
            ...(registrar.clientSecret === DEMO_REGISTRAR_SECRET ? { clientSecret: DEMO_REGISTRAR_SECRET } : {}),
          }
        : null,
    };
  }

  return {
    handle(method, path, body, remoteAddress) {
      if (!isLoopback(remoteAddress))
        return {
          status: 403,
          body: { error: { code: 'Forbidden', message: 'The admin API answers loopback callers only.' } },
        };
      const route = `${method} ${path.replace(/\/+$/, '')}`;
      switch (route) {
        case 'POST /_emulator/reset': {
          const name = (body as { seed?: unknown } | undefined)?.seed ?? 'demo';
          const failed = seed(String(name));
          if (failed) return failed;
          target.faults.reset();
          target.counters.reset();
          return { status: 200, body: { seed: name, ...summary() } };
        }
        case 'POST /_emulator/seed': {
          if (isTenantData(body)) {
            target.replace(structuredClone(body));
            return { status: 200, body: { seed: 'document', ...summary() } };
          }
          const name = (body as { name?: unknown } | undefined)?.name;
          if (typeof name !== 'string')
            return problem(
              400,
              'Send {"name":"demo"} or {"name":"empty"}, or a whole tenant document (tenantId, domain, applications, ...).',
            );
          return seed(name) ?? { status: 200, body: { seed: name, ...summary() } };
        }
        case 'GET /_emulator/faults':
          return { status: 200, body: target.faults.settings() };
        case 'PUT /_emulator/faults': {
          let settings: FaultSettings;
          try {
            settings = parseFaultSettings(body ?? {});
          } catch (err) {
            return problem(400, (err as Error).message);
          }
          target.faults.reset();
          target.faults.configure(settings);
          return { status: 200, body: target.faults.settings() };
        }
        case 'GET /_emulator/counters':
          return { status: 200, body: { calls: target.counters.snapshot(), total: target.counters.total() } };
        case 'DELETE /_emulator/counters':
          target.counters.reset();
          return { status: 204 };
        case 'GET /_emulator/info':
          return { status: 200, body: info() };
        default:
          return {
            status: 404,
            body: {
              error: {
                code: 'NotFound',
                message: `No admin endpoint at ${method} ${path}. See src/local/tenant/admin.ts.`,
              },
            },
          };
      }
    },
  };
}
