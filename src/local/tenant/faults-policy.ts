/**
 * The local tenant's fault behaviours (FaultSettings): Graph's identity throttling as token buckets of resource
 * units per (app, tenant) with the cost table of https://learn.microsoft.com/graph/throttling-limits, 503s at a rate or for the next N calls, lost
 * responses, and 409 concurrency conflicts on the next N credential writes (the routes ask, see TenantContext). Replication delay, credential delay and latency are plain numbers the server reads itself.
 */
import { type Caller, GraphError, type Route, throttledTemporarily } from './http';
import type { FaultPolicy, FaultSettings } from './faults';

interface CallShape {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
/** GETs that cost 2 RU (throttling-limits), by the route pattern Graph charges them on. */
const TWO_UNIT_READS = [
  /^\/applications/i,
  /^\/oauth2PermissionGrants/i,
  /^\/servicePrincipals\/[^/]+\/appRoleAssignments$/i,
  /^\/users/i,
];

/**
 * Resource units of one call (throttling-limits): GET applications, oauth2PermissionGrants, appRoleAssignments of a service
 * principal and users 2; POST directoryObjects/getByIds 5; any other GET 1; writes 1. Then $select −1, $expand +1,
 * $top under 20 −1, never below 1.
 */
export function resourceUnits(route: Pick<Route, 'pattern'>, call: CallShape): number {
  const method = call.method.toUpperCase();
  let cost: number;
  if (method === 'POST' && /^\/directoryObjects\/getByIds$/i.test(route.pattern)) cost = 5;
  else if (method === 'GET') cost = TWO_UNIT_READS.some((r) => r.test(route.pattern)) ? 2 : 1;
  else cost = 1;
  if (call.query.has('$select')) cost -= 1;
  if (call.query.has('$expand')) cost += 1;
  const top = Number(call.query.get('$top'));
  if (call.query.has('$top') && Number.isFinite(top) && top < 20) cost -= 1;
  return Math.max(1, cost);
}

function isWrite(route: Route, method: string): boolean {
  return route.write || WRITE_METHODS.has(method.toUpperCase());
}

/** Fault injection with Graph's behaviours. `now` and `random` are injectable so tests can be exact. */
export function createFaultPolicy(options: { now?: () => number; random?: () => number } = {}): FaultPolicy {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let current: FaultSettings = {};
  let unavailableLeft: number | undefined;
  let loseLeft = 0;
  let concurrencyLeft = 0;
  const units = new Map<string, Bucket>();
  const writes = new Map<string, Bucket>();

  function take(
    map: Map<string, Bucket>,
    key: string,
    capacity: number,
    refillPerSecond: number,
    cost: number,
  ): { ok: boolean; bucket: Bucket } {
    const t = now();
    const bucket = map.get(key) ?? { tokens: capacity, at: t };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * refillPerSecond);
    bucket.at = t;
    map.set(key, bucket);
    if (bucket.tokens < cost) return { ok: false, bucket };
    bucket.tokens -= cost;
    return { ok: true, bucket };
  }

  function waitSeconds(bucket: Bucket, cost: number, refillPerSecond: number): number {
    if (current.throttle?.retryAfterSeconds !== undefined) return current.throttle.retryAfterSeconds;
    if (refillPerSecond <= 0) return 60;
    return Math.max(1, Math.ceil((cost - bucket.tokens) / refillPerSecond));
  }

  function throttled(
    caller: Caller,
    seconds: number,
    scope: 'ReadWrite' | 'Write',
    information: string,
    cost: number,
  ): GraphError {
    return throttledTemporarily(seconds, {
      'x-ms-resource-unit': String(cost),
      'x-ms-throttle-scope': `Tenant_Application/${scope}/${caller.appId}/${caller.tenantId}`,
      'x-ms-throttle-information': information,
    });
  }

  function apply(settings: FaultSettings): void {
    current = settings;
    unavailableLeft = settings.unavailable?.count;
    loseLeft = settings.loseResponses ?? 0;
    concurrencyLeft = settings.concurrencyViolations ?? 0;
  }

  return {
    settings: live,
    // Merged with what is left of the counted faults, so that changing one knob does not re-arm the others.
    configure: (settings) => apply({ ...live(), ...settings }),
    reset() {
      apply({});
      units.clear();
      writes.clear();
    },
    refuse(caller, route, request) {
      const unavailable = current.unavailable;
      if (unavailable && (unavailableLeft === undefined || unavailableLeft > 0)) {
        if (unavailableLeft !== undefined) unavailableLeft -= 1;
        if (random() < unavailable.rate) {
          const seconds = unavailable.retryAfterSeconds ?? 1;
          return new GraphError(
            503,
            'serviceNotAvailable',
            'The service is temporarily unavailable. Please retry after some time.',
            undefined,
            {
              'retry-after': String(seconds),
            },
          );
        }
      }
      const throttle = current.throttle;
      if (!throttle) return undefined;
      const key = `${caller.appId}/${caller.tenantId}`;
      const cost = resourceUnits(route, request);
      if (throttle.writes && isWrite(route, request.method)) {
        const write = take(writes, key, throttle.writes.capacity, throttle.writes.refillPerSecond, 1);
        if (!write.ok)
          return throttled(
            caller,
            waitSeconds(write.bucket, 1, throttle.writes.refillPerSecond),
            'Write',
            'WriteLimitExceeded',
            cost,
          );
      }
      const unit = take(units, key, throttle.capacity, throttle.refillPerSecond, cost);
      if (!unit.ok) {
        if (throttle.writes && isWrite(route, request.method)) writes.get(key)!.tokens += 1;
        return throttled(
          caller,
          waitSeconds(unit.bucket, cost, throttle.refillPerSecond),
          'ReadWrite',
          'ResourceUnitLimitExceeded',
          cost,
        );
      }
      return undefined;
    },
    loseResponse(route) {
      if (!route.write || loseLeft <= 0) return false;
      loseLeft -= 1;
      return true;
    },
    concurrencyViolation() {
      if (concurrencyLeft <= 0) return false;
      concurrencyLeft -= 1;
      return true;
    },
    responseHeaders(caller, route, request) {
      const headers: Record<string, string> = {};
      if (request) headers['x-ms-resource-unit'] = String(resourceUnits(route, request));
      const throttle = current.throttle;
      const bucket = units.get(`${caller.appId}/${caller.tenantId}`);
      if (throttle && bucket && throttle.capacity > 0) {
        // Graph sends the share of the limit used only past 80% (https://learn.microsoft.com/graph/throttling-limits).
        const used = 1 - bucket.tokens / throttle.capacity;
        if (used > 0.8) headers['x-ms-throttle-limit-percentage'] = Math.min(1.8, used).toFixed(1);
      }
      return headers;
    },
  };

  /** The settings with the counted faults (next N calls, next N writes) at what is left of them. */
  function live(): FaultSettings {
    const settings: FaultSettings = { ...current };
    if (current.loseResponses !== undefined) settings.loseResponses = loseLeft;
    if (current.concurrencyViolations !== undefined) settings.concurrencyViolations = concurrencyLeft;
    if (current.unavailable && unavailableLeft !== undefined)
      settings.unavailable = { ...current.unavailable, count: unavailableLeft };
    return settings;
  }
}
