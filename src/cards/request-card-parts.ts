import type { PermissionRef } from '../domain/app-spec';
import { stepsFor, type AppRequest, type ProvisioningStep, type RequestStatus } from '../domain/request';
import type { RiskLevel } from '../domain/risk';
import type { AdaptiveCard } from './adaptive-card';
import { formatUtc, safeText, TextLimit } from './render';

/*
 * What the request path's cards share: the words for a status, a risk, a permission and a provisioning step, the
 * status lines of the status and approval cards, and how much of a request a card shows. One file per card sits
 * beside this one (request-form-card.ts, request-status-card.ts, request-list-card.ts, approval-card.ts,
 * delivery-card.ts). As in cards.ts, each renderer builds a flat view model; every string from people or the
 * directory goes through safeText and lands only in TextRuns or input values (see render.ts).
 */

export const riskWords: Record<RiskLevel, string> = { low: 'Low risk', medium: 'Medium risk', high: 'High risk' };
/**
 * Text colours that keep WCAG AA contrast (4.5:1) in Teams' light and dark themes. Of Teams' named colours only
 * Default and Accent do on the default and emphasis backgrounds: Good and Warning fall to about 2:1 and 1.5:1 on
 * white, Attention to about 3.2:1 on the dark theme's grey. On a coloured container style (good, attention,
 * warning, accent) only Default does. So a risk is said in words, and the tone of a card in its container's style.
 */
export const riskColor: Record<RiskLevel, string> = { low: 'Default', medium: 'Default', high: 'Default' };

export const typeWords: Record<PermissionRef['type'], string> = { Role: 'application', Scope: 'delegated' };

const stepWords: Record<ProvisioningStep, string> = {
  application: 'Create the application',
  owners: 'Add the owners',
  servicePrincipal: 'Create the service principal',
  consent: 'Grant admin consent',
  directoryRole: 'Assign the directory role',
  certificate: 'Add the certificate',
  federatedCredential: 'Add the federated credential',
  resources: 'Create the service principals of the APIs',
};

export const statusTone: Record<RequestStatus, { style: string; color: string }> = {
  submitted: { style: 'emphasis', color: 'Accent' },
  approved: { style: 'good', color: 'Default' },
  provisioning: { style: 'accent', color: 'Default' },
  provisioned: { style: 'good', color: 'Default' },
  delivered: { style: 'good', color: 'Default' },
  rejected: { style: 'attention', color: 'Default' },
  expired: { style: 'warning', color: 'Default' },
  cancelled: { style: 'emphasis', color: 'Default' },
  failed: { style: 'attention', color: 'Default' },
};

/** How many permissions, audit events and list rows a card shows: a Teams message carries about 28 KB. */
export const shown = { permissions: 40, statusPermissions: 60, auditEvents: 40, listRows: 25 } as const;

export const person = (name: unknown) => safeText(name, { max: TextLimit.personName }) || 'someone';
export const appNameOf = (request: AppRequest) =>
  safeText(request.form.displayName, { max: TextLimit.title }) || 'Unnamed app';
export const idOf = (request: AppRequest) => safeText(request.id, { max: TextLimit.reference });
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "Megan Bowen", "Megan Bowen and Adele Vance", "A, B and C". */
function names(people: readonly { name: string }[]): string {
  const all = people.map((p) => person(p.name));
  return all.length <= 1 ? (all[0] ?? '') : `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

export const approvalsLine = (request: AppRequest) =>
  `${request.approvals.length} of ${plural(request.approvalsRequired, 'approval')} so far${request.approvals.length > 0 ? `: ${names(request.approvals)}` : ''}.`;

export interface StatusView {
  headline: string;
  lines: { text: string }[];
  reason?: string;
  style: string;
  color: string;
}

/** The request's state in words, for the status and approval cards. */
export function describeStatus(request: AppRequest): StatusView {
  const tone = statusTone[request.status] ?? statusTone.failed;
  const lines = (...texts: string[]) => texts.filter(Boolean).map((text) => ({ text }));
  const steps = stepsFor(request);
  const done = steps.filter((step) => request.provisioning[step]).length;
  const requester = person(request.requester.name);
  const approvedBy = request.approvals.length > 0 ? `Approved by ${names(request.approvals)}.` : '';
  switch (request.status) {
    case 'submitted':
      return {
        ...tone,
        headline: `Waiting for approval: ${request.approvals.length} of ${request.approvalsRequired}`,
        lines: lines(
          approvalsLine(request),
          `If nobody decides by ${formatUtc(request.expiresAt)}, the request expires.`,
        ),
      };
    case 'approved':
      return { ...tone, headline: 'Approved', lines: lines(approvedBy, 'Registrar is about to create the app.') };
    case 'provisioning':
      return {
        ...tone,
        headline: 'Being provisioned',
        lines: lines(approvedBy, `${done} of ${plural(steps.length, 'step')} done.`),
      };
    case 'provisioned':
      return {
        ...tone,
        headline: 'Provisioned',
        lines: lines(
          'The app exists in Entra ID.',
          `Its credentials go to ${requester} privately, in a personal chat with Registrar.`,
        ),
      };
    case 'delivered': {
      const delivery = request.delivery;
      const when = delivery
        ? formatUtc(delivery.kind === 'secret' ? delivery.revealedAt : delivery.deliveredAt)
        : formatUtc(request.updatedAt);
      const what =
        delivery?.kind === 'secret'
          ? `The client secret was revealed to ${requester} on ${when}.`
          : delivery?.kind === 'certificate'
            ? `The certificate was confirmed to ${requester} on ${when}.`
            : delivery?.kind === 'federated'
              ? `The federated credential and how to use it were delivered to ${requester} on ${when}.`
              : `The app's ids were delivered to ${requester} on ${when}.`;
      return { ...tone, headline: 'Delivered', lines: lines(what) };
    }
    case 'rejected': {
      const rejection = request.rejection;
      return {
        ...tone,
        headline: 'Rejected',
        lines: lines(
          rejection
            ? `Rejected by ${person(rejection.by.name)} on ${formatUtc(rejection.at)}.`
            : `Rejected on ${formatUtc(request.updatedAt)}.`,
        ),
        reason: safeText(rejection?.reason, { max: TextLimit.paragraph, multiline: true }) || undefined,
      };
    }
    case 'expired':
      // Provisioned, but the client secret was not revealed within DELIVERY_TTL_DAYS: the app exists without it.
      if (request.provisionedAt) {
        return {
          ...tone,
          headline: 'Expired',
          lines: lines(
            `The app exists, but its client secret was not revealed in time and will not be created. Its owners get one with rotate ${request.form.displayName}.`,
          ),
        };
      }
      return {
        ...tone,
        headline: 'Expired',
        lines: lines(`Nobody decided by ${formatUtc(request.expiresAt)}. To ask again, type request.`),
      };
    case 'cancelled':
      return {
        ...tone,
        headline: 'Cancelled',
        lines: lines(`Cancelled by ${requester} on ${formatUtc(request.updatedAt)}.`),
      };
    case 'failed': {
      const error = request.provisioning.lastError;
      return {
        ...tone,
        headline: 'Provisioning failed',
        lines: lines(
          error
            ? `On ${formatUtc(error.at)}, after ${done} of ${plural(steps.length, 'step')}:`
            : `After ${done} of ${plural(steps.length, 'step')}.`,
          safeText(error?.message, { max: TextLimit.paragraph, multiline: true }),
          'An approver can retry it; the steps already done are kept.',
        ),
      };
    }
  }
}

/**
 * Each provisioning step, done or not, while the request is approved, being provisioned or failed. The rows sit in
 * the status's container style, which may be coloured: their state is said in words, in the Default colour.
 */
/**
 * A rotation's state in its own words: the app exists already, and what comes is a new client secret for it. The
 * requester reads what to do next; the approvers read who was approved and who holds the secret. The states a
 * rotation shares with a new app's request (rejected, cancelled) read the same for both.
 */
export function rotationStatus(request: AppRequest, audience: 'requester' | 'approvers'): StatusView {
  const general = describeStatus(request);
  const forApprovers = audience === 'approvers';
  const app = safeText(request.rotation?.appName, { max: TextLimit.title }) || appNameOf(request);
  const requester = person(request.requester.name);
  const lines = (...texts: string[]) => texts.filter(Boolean).map((text) => ({ text }));
  const approvedBy = forApprovers ? (general.lines.find((l) => l.text.startsWith('Approved by'))?.text ?? '') : '';
  switch (request.status) {
    case 'submitted':
      if (!forApprovers) return general;
      return {
        ...general,
        lines: lines(
          approvalsLine(request),
          `If nobody decides by ${formatUtc(request.expiresAt)}, no new client secret is made and ${app} keeps its credentials as they are.`,
        ),
      };
    case 'approved':
    case 'provisioning':
      return { ...general, lines: lines(approvedBy, 'Registrar is getting the new client secret ready.') };
    case 'provisioned':
      return {
        ...general,
        headline: 'Ready to reveal',
        lines: lines(
          approvedBy,
          `The new client secret waits in ${requester}'s personal chat with Registrar. It is created at the click on Reveal client secret.`,
        ),
      };
    case 'delivered': {
      const d = request.delivery;
      return {
        ...general,
        lines: lines(
          d?.kind === 'secret'
            ? `The new client secret was revealed to ${requester} on ${formatUtc(d.revealedAt)}.`
            : `Delivered on ${formatUtc(request.updatedAt)}.`,
        ),
      };
    }
    case 'expired': {
      const again = forApprovers
        ? ''
        : request.provisionedAt
          ? `; type rotate ${app} to try again`
          : `; type rotate ${app} to ask again`;
      return {
        ...general,
        lines: lines(
          request.provisionedAt
            ? `The new client secret was not revealed in time, so it was never created. ${app} and its credentials are unchanged${again}.`
            : `Nobody decided by ${formatUtc(request.expiresAt)}, so no new client secret was made. ${app} and its credentials are unchanged${again}.`,
        ),
      };
    }
    case 'failed':
      return {
        ...general,
        ...(forApprovers ? { headline: 'Failed' } : {}),
        lines: lines(
          `Registrar could not get the new client secret ready${request.provisioning.lastError ? `: ${safeText(request.provisioning.lastError.message, { max: TextLimit.paragraph })}` : '.'}`,
          'An approver can retry it.',
        ),
      };
    default:
      return general;
  }
}

export function stepRows(request: AppRequest): { label: string; state: string; color: string }[] {
  if (!['approved', 'provisioning', 'failed'].includes(request.status)) return [];
  const steps = stepsFor(request);
  const next = steps.find((step) => !request.provisioning[step]);
  return steps.map((step) => {
    const label = stepWords[step];
    if (request.provisioning[step]) return { label, state: 'Done', color: 'Default' };
    if (step === next && request.status === 'provisioning') return { label, state: 'In progress', color: 'Default' };
    if (step === next && request.status === 'failed') return { label, state: 'Failed', color: 'Default' };
    return { label, state: 'Pending', color: 'Default' };
  });
}

/** "Mail.Send" and " (application, Microsoft Graph)". */
function permissionLine(p: PermissionRef): { value: string; detail: string } {
  return {
    value: safeText(p.value, { max: TextLimit.title }),
    detail: ` (${typeWords[p.type] ?? 'delegated'}, ${safeText(p.resourceDisplayName, { max: TextLimit.placeName }) || 'unknown API'})`,
  };
}

export function permissionLines(
  permissions: readonly PermissionRef[],
  max: number,
): { permissions: { value: string; detail: string }[]; permissionsMore?: string } {
  const more = permissions.length - max;
  return {
    permissions: permissions.slice(0, max).map(permissionLine),
    permissionsMore: more > 0 ? `…and ${plural(more, 'more permission')}.` : undefined,
  };
}

/** Drops what templating leaves behind for a guarded root property (`refresh: null`) and an empty action bar. */
export function tidy(card: AdaptiveCard): AdaptiveCard {
  const out: AdaptiveCard = { ...card };
  if (out.refresh === null) delete out.refresh;
  if (Array.isArray(out.actions) && out.actions.length === 0) delete out.actions;
  return out;
}

/**
 * The item an approver consents to when the tenant lacks an API's service principal: Registrar adds it (the
 * Microsoft enterprise application of that API) before it grants the permissions on it. Undefined when none.
 */
export function resourceServicePrincipalsText(request: AppRequest): string | undefined {
  const resources = request.resourceServicePrincipals ?? [];
  if (resources.length === 0) return undefined;
  const named = resources.map(
    (r) =>
      `${safeText(r.displayName, { max: TextLimit.placeName })} (${safeText(r.appId, { max: TextLimit.reference })})`,
  );
  return `Registrar will create the service principal for ${named.join(', ')} in this tenant as part of this request: ${resources.length === 1 ? 'it is' : 'they are'} not there yet. Creating ${resources.length === 1 ? 'it' : 'them'} adds Microsoft's enterprise application${resources.length === 1 ? '' : 's'} of that API, so that its permissions can be granted.`;
}
