/**
 * Starts the local tenant for a test, in memory, on an ephemeral port, with the certificate the global setup
 * made (and that every test worker trusts), and gives the real Azure SDK clients to call it as Registrar will.
 */
import { ClientSecretCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { ensureDevCertificate } from '../../src/local/tenant/dev-cert';
import type { RouteModule } from '../../src/local/tenant/context';
import type { FaultPolicy } from '../../src/local/tenant/faults';
import type { TenantLimits } from '../../src/local/tenant/limits';
import { type RunningTenant, startTenantServer } from '../../src/local/tenant/server';
import { newObjectId, type TenantData } from '../../src/local/tenant/state';
import { notFound } from '../../src/local/tenant/http';
import { createGraphClient, createGraphConnection, type GraphConnection } from '../../src/adapters/graph/graph-client';
import { demoBot } from '../../src/local/demo-identities';
import { DEMO_REGISTRAR_SECRET } from '../../src/local/tenant/seed';

export async function startTestTenant(options: {
  data: TenantData;
  routes: readonly RouteModule[];
  faults?: FaultPolicy;
  now?: () => Date;
  /** Graph's documented query limits (default: as Graph); a test that raises one says why. */
  limits?: TenantLimits;
}): Promise<RunningTenant> {
  const dir = process.env.TEST_TENANT_CERT_DIR;
  if (!dir || !process.env.NODE_EXTRA_CA_CERTS?.includes(dir)) {
    throw new Error(
      'The local tenant certificate is not trusted in this process: run the tests through jest (not --runInBand), whose global setup sets NODE_EXTRA_CA_CERTS.',
    );
  }
  const certificate = await ensureDevCertificate(dir);
  return startTenantServer({ certificate, ...options });
}

/** The credential and Graph client exactly as src/adapters/graph/graph-client.ts builds them, pointed at the tenant. */
export function graphClientFor(
  tenant: RunningTenant,
  clientId: string,
  secret: string,
): { credential: ClientSecretCredential; client: Client } {
  const credential = new ClientSecretCredential(tenant.tenantId, clientId, secret, {
    authorityHost: tenant.url,
    disableInstanceDiscovery: true,
  });
  return { credential, client: createGraphClient(credential, tenant.url) };
}

/** Registrar's identity in the tenant: the one seeded through the admin API, else the demo seed's (demoTenant()). */
function registrarOf(tenant: RunningTenant): { clientId: string; clientSecret: string } {
  const seeded = tenant.registrar();
  return seeded?.clientSecret
    ? { clientId: seeded.clientId, clientSecret: seeded.clientSecret }
    : { clientId: demoBot.id, clientSecret: DEMO_REGISTRAR_SECRET };
}

/**
 * Registrar's own Graph connection (createGraphConnection: @azure/identity and the Graph client, as production
 * builds it) to a running local tenant, signed in as the Registrar identity the tenant was seeded with.
 */
export function registrarConnection(tenant: RunningTenant): GraphConnection {
  const registrar = registrarOf(tenant);
  return createGraphConnection({
    cloud: 'global',
    endpoint: tenant.url,
    authorityHost: tenant.url,
    tenantId: tenant.tenantId,
    clientId: registrar.clientId,
    clientSecret: registrar.clientSecret,
  });
}

/** The variables that point a Registrar process at a running local tenant, as its seeded Registrar identity. */
export function registrarEnv(tenant: RunningTenant): Record<string, string> {
  const registrar = registrarOf(tenant);
  return {
    AZURE_TENANT_ID: tenant.tenantId,
    AZURE_CLIENT_ID: registrar.clientId,
    AZURE_CLIENT_SECRET: registrar.clientSecret,
    AUTHORITY_HOST: tenant.url,
    GRAPH_ENDPOINT: tenant.url,
  };
}

/**
 * A tiny applications route module for pipeline tests (faults, admin, $batch) that must not depend on the real
 * route modules: GET /applications (2 RU), GET /applications/{id}, POST /applications; new objects honour the
 * replication delay.
 */
export const pipelineTestRoutes: RouteModule = (ctx) => {
  const read = { anyOf: ['Application.Read.All', 'Application.ReadWrite.All'] };
  const write = { anyOf: ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All'] };
  const visible = (now: Date) =>
    Object.values(ctx.state().data.applications).filter((r) => r.visibleFrom <= now.getTime());
  return [
    {
      method: 'GET',
      pattern: '/applications',
      permission: read,
      write: false,
      handler: (request) => ({ status: 200, body: { value: visible(request.now).map((r) => r.data) } }),
    },
    {
      method: 'GET',
      pattern: '/applications/{id}',
      permission: read,
      write: false,
      handler: (request) => {
        const record = visible(request.now).find((r) => r.data.id === request.params.id);
        if (!record) throw notFound(request.params.id ?? '');
        return { status: 200, body: record.data };
      },
    },
    {
      method: 'POST',
      pattern: '/applications',
      permission: write,
      write: true,
      handler: (request) => {
        const id = newObjectId();
        const data = {
          id,
          appId: newObjectId(),
          displayName: String((request.body as { displayName?: unknown })?.displayName ?? ''),
        };
        ctx.state().addApplication({
          data,
          visibleFrom: ctx.visibleFrom(),
          sequence: ctx.state().nextSequence(),
          owners: [request.caller.servicePrincipalId],
          secretHashes: {},
          certificates: {},
          credentialsUsableFrom: {},
        });
        return { status: 201, body: data };
      },
    },
  ];
};

/** A clock the test moves forward, to let replication and credential delays pass without waiting. */
export class TestClock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
