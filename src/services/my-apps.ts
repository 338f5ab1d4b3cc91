/**
 * `mine`'s apps: the apps a person's requests made and the apps they rotated, each with its credentials as the
 * directory holds them now (one read per app, at most MY_APPS_READ per turn), and their rotations under it.
 * Apps the person owns in Entra ID that Registrar never touched for them are not found here: listing a user's
 * owned objects is a Graph read the credential source does not offer yet.
 */
import { RegistrarError } from '../domain/errors';
import type { CredentialInfo } from '../domain/expiry';
import type { AppRequest, RequestStatus } from '../domain/request';
import type { Logger } from '../lib/logger';
import type { CredentialSource, TargetDirectory } from './ports';
import { targetOf } from './target-directories';

/** Apps whose credentials one `mine` reads: each is a Graph call made while the person waits. */
export const MY_APPS_READ = 10;
/** Graph reads at once. */
const READS_AT_ONCE = 4;

/** Statuses in which a new-app request's application exists in the directory (wholly or in part). */
const appExists: readonly RequestStatus[] = ['provisioning', 'provisioned', 'delivered', 'expired', 'failed'];

export interface MyApp {
  appId: string;
  name: string;
  /** The target directory's name when the app is not in the Teams tenant. */
  directory?: string;
  /** The new-app request that made it, when Registrar made it for this person. */
  requestId?: string;
  /** The person's rotations of it, newest first. */
  rotations: Array<Pick<AppRequest, 'id' | 'status' | 'createdAt' | 'delivery'>>;
  /** Its credentials now, soonest expiry first; absent when they could not be read (then `unread` says why). */
  credentials?: CredentialInfo[];
  unread?: string;
}

export interface MyApps {
  apps: MyApp[];
  /** Apps found in the requests but not read in this turn (over MY_APPS_READ). */
  notShown: number;
}

export interface MyAppsDeps {
  /** The Teams tenant's credentials; without it the apps are listed without their credentials. */
  applications?: Pick<CredentialSource, 'findApplication'>;
  targets?: readonly TargetDirectory[];
  logger: Logger;
}

/** The apps of `requests` (newest first), the most recently touched first. */
export async function myApps(requests: readonly AppRequest[], deps: MyAppsDeps): Promise<MyApps> {
  const byAppId = new Map<string, MyApp & { source: AppRequest }>();
  for (const request of requests) {
    const rotation = request.kind === 'rotation' ? request.rotation : undefined;
    const appId =
      rotation?.appId ?? (appExists.includes(request.status) ? request.provisioning.application?.appId : undefined);
    if (!appId) continue;
    const key = appId.toLowerCase();
    let app = byAppId.get(key);
    if (!app) {
      app = {
        appId,
        name: rotation?.appName ?? request.form.displayName,
        ...(request.target ? { directory: request.target.name } : {}),
        rotations: [],
        source: request,
      };
      byAppId.set(key, app);
    }
    if (rotation)
      app.rotations.push({
        id: request.id,
        status: request.status,
        createdAt: request.createdAt,
        ...(request.delivery ? { delivery: request.delivery } : {}),
      });
    else app.requestId ??= request.id;
  }
  const all = [...byAppId.values()];
  const read = all.slice(0, MY_APPS_READ);
  for (let i = 0; i < read.length; i += READS_AT_ONCE) {
    await Promise.all(read.slice(i, i + READS_AT_ONCE).map((app) => readCredentials(app, deps)));
  }
  return { apps: read.map(({ source: _source, ...app }) => app), notShown: all.length - read.length };
}

async function readCredentials(app: MyApp & { source: AppRequest }, deps: MyAppsDeps): Promise<void> {
  try {
    const source = app.source.target ? targetOf(deps.targets, app.source)?.credentials : deps.applications;
    if (!source) {
      app.unread = 'Registrar is not connected to Microsoft Graph, so it cannot read the credentials.';
      return;
    }
    const found = await source.findApplication(app.appId);
    if (!found) {
      app.unread = 'Not found in the directory: it may have been deleted.';
      return;
    }
    app.name = found.displayName;
    app.credentials = [...found.credentials].sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime));
  } catch (err) {
    if (!(err instanceof RegistrarError)) throw err;
    deps.logger.warn({ appId: app.appId, code: err.code, detail: err.message }, 'mine: credentials not read');
    app.unread = 'Registrar could not read its credentials just now; try again in a minute.';
  }
}
