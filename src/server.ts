/**
 * The HTTP edge: restify with POST /api/messages (Bot Framework activities, through botbuilder's CloudAdapter
 * into the bot), GET /healthz (the process is alive) and GET /readyz (its storage answers). Stopping lets the
 * turns in flight finish before the process goes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type Activity, CardFactory, CloudAdapter, MessageFactory, type TurnContext } from 'botbuilder';
import { AuthenticationError } from 'botframework-connector';
import * as restify from 'restify';
import { type BotFrameworkEndpoints, createBotAuthentication } from './bot/auth';
import type { Bot } from './bot/app';
import { setTurnLogger, tenantOf, turnLogger } from './bot/turn';
import { renderNotice } from './cards/cards';
import type { Config } from './config';
import type { Logger } from './lib/logger';
import { isLoopbackHostHeader } from './lib/loopback';
import type { Store } from './services/ports';
import { recordException } from './telemetry';

export interface ServerDeps {
  config: Config;
  logger: Logger;
  store: Store;
  bot: Bot;
  /** The adapter the bot also sends proactive messages through (createAdapter); one is made when absent. */
  adapter?: RegistrarAdapter;
  /** Jobs an external timer may start through POST /jobs/... (only when JOB_TOKEN is set). */
  jobs?: { expiryScan: () => Promise<{ scanId: string; ran: boolean; announced: readonly unknown[] }> };
}

export interface ServerOptions {
  /** Overrides config.port (tests pass 0 for an ephemeral port). */
  port?: number;
  /** Tests point inbound validation at a local OpenID server; otherwise the endpoints are GRAPH_CLOUD's (src/clouds.ts). */
  botFrameworkEndpoints?: BotFrameworkEndpoints;
}

export interface RunningServer {
  /** http://host:port, with the port actually bound. */
  url: string;
  port: number;
  /** Stops accepting, waits up to `graceMs` for turns in flight, then closes every connection. */
  stop(graceMs?: number): Promise<void>;
}

const MAX_ACTIVITY_BYTES = 1024 * 1024;

/**
 * Activities are JSON (a charset parameter is fine). Anything else is refused before the body is read: a form
 * (urlencoded, multipart or text/plain) is what any web page can post across origins without a CORS preflight.
 */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * CloudAdapter.process() answers with console.error and a 500 for anything it does not expect; Registrar answers
 * itself (401, 403, structured logs), so it calls the authenticate-then-run step directly.
 */
export class RegistrarAdapter extends CloudAdapter {
  authenticateAndRun(authHeader: string, activity: Activity, logic: (context: TurnContext) => Promise<void>) {
    return this.processActivity(authHeader, activity, logic);
  }
}

/** The Bot Framework adapter for inbound turns and proactive messages alike. */
export function createAdapter(config: Config, endpoints?: BotFrameworkEndpoints): RegistrarAdapter {
  return new RegistrarAdapter(createBotAuthentication(config.bot, config.graph.cloud, endpoints));
}

export async function startServer(deps: ServerDeps, options: ServerOptions = {}): Promise<RunningServer> {
  const { config, logger, store, bot } = deps;
  const adapter = deps.adapter ?? createAdapter(config, options.botFrameworkEndpoints);
  const allowedTenants = new Set(config.allowedTenantIds);
  const inFlight = new Set<Promise<unknown>>();

  adapter.onTurnError = async (context, error) => {
    const log = safeTurnLogger(context, logger);
    const reference = context.activity.id ?? 'unknown';
    log.error({ err: error }, 'turn failed');
    recordException(error);
    const card = renderNotice({
      tone: 'error',
      title: 'Something went wrong',
      text: 'Registrar could not finish this. Nothing was changed that you were not told about. Try again, and if it happens again give the reference below to your Registrar operators.',
      reference,
    });
    try {
      if (context.activity.type === 'invoke') {
        await context.sendActivity({
          type: 'invokeResponse',
          value: {
            status: 200,
            body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card },
          },
        });
      } else if (context.activity.type === 'message') {
        await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
      }
    } catch (sendError) {
      log.error({ err: sendError }, 'could not tell the user about the failure');
    }
  };

  const server = restify.createServer({ name: 'registrar', handleUncaughtExceptions: false });
  if (config.mode === 'local') {
    // Local mode has no authentication: only this machine may call it, and a page whose DNS name was rebound to
    // 127.0.0.1 still sends its own name as Host, so anything but a loopback name is refused.
    server.pre((req, res, next) => {
      if (isLoopbackHostHeader(req.headers.host)) return next();
      logger.warn(
        { host: String(req.headers.host ?? '').slice(0, 100), path: req.path() },
        'request refused: Host is not a loopback name',
      );
      res.send(403, {
        error: 'Registrar in local mode answers only requests addressed to localhost, 127.0.0.1 or [::1].',
      });
      return next(false);
    });
  }

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'alive' });
  });

  server.get('/readyz', async (_req, res) => {
    try {
      await store.ping();
      res.send(200, { status: 'ready' });
    } catch (err) {
      logger.warn({ err }, 'not ready: storage unreachable');
      res.send(503, { status: 'unavailable', reason: 'storage unreachable' });
    }
  });

  const jobToken = config.reminders.jobToken;
  const expiryScan = deps.jobs?.expiryScan;
  if (jobToken && expiryScan) {
    const expected = createHash('sha256').update(jobToken).digest();
    // The job endpoint's own credential, compared in constant time; anything else is refused and logged without the header.
    server.post('/jobs/expiry-scan', async (req, res) => {
      const header = req.header('authorization') ?? '';
      const given = createHash('sha256')
        .update(header.startsWith('Bearer ') ? header.slice(7) : '')
        .digest();
      if (!header.startsWith('Bearer ') || !timingSafeEqual(given, expected)) {
        logger.warn({ remote: req.socket.remoteAddress }, 'job refused: wrong or missing token');
        res.send(401, { error: 'Unauthorized' });
        return;
      }
      const started = expiryScan();
      started.catch((err: unknown) =>
        logger.error({ err }, 'expiry scan from the job endpoint failed; the next one picks up what it left'),
      );
      // A timer waits a minute or two for an answer: a long scan is answered 202 and goes on.
      const answer = await Promise.race([
        started.then((r) => ({ done: true as const, r })).catch(() => undefined),
        new Promise<undefined>((resolve) => {
          setTimeout(() => resolve(undefined), 25_000).unref();
        }),
      ]);
      if (answer?.done)
        res.send(200, {
          status: answer.r.ran ? 'done' : 'another Registrar is scanning',
          scanId: answer.r.scanId,
          announced: answer.r.announced.length,
        });
      else res.send(202, { status: 'running' });
    });
  }

  const onlyJson: restify.RequestHandler = (req, res, next) => {
    if (isJson(req.header('content-type'))) return next();
    res.send(415, { error: 'The body must be a Bot Framework activity sent as Content-Type: application/json.' });
    return next(false);
  };
  const jsonBody = [
    restify.plugins.bodyReader({ maxBodySize: MAX_ACTIVITY_BYTES }),
    ...restify.plugins.jsonBodyParser({ bodyReader: true, mapParams: false }),
  ];
  server.post('/api/messages', onlyJson, ...jsonBody, async (req: restify.Request, res: restify.Response) => {
    const work = handleActivity(req, res);
    inFlight.add(work);
    try {
      await work;
    } finally {
      inFlight.delete(work);
    }
  });

  async function handleActivity(req: restify.Request, res: restify.Response): Promise<void> {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || typeof (body as { type?: unknown }).type !== 'string') {
      res.send(400, { error: 'The body must be a Bot Framework activity: a JSON object with a type.' });
      return;
    }
    const activity = body as Activity;
    const requestLog = () => logger.child({ activityId: activity.id, activityType: activity.type });
    let refusedTenant: string | null = null;
    try {
      const invokeResponse = await adapter.authenticateAndRun(
        req.header('authorization') ?? '',
        activity,
        async (context) => {
          const incoming = context.activity;
          setTurnLogger(context, () =>
            logger.child({
              activityId: incoming.id,
              activityType: incoming.type,
              conversationId: incoming.conversation?.id,
              aadObjectId: incoming.from?.aadObjectId,
            }),
          );
          const tenantId = tenantOf(incoming);
          if (!tenantId || !allowedTenants.has(tenantId)) {
            refusedTenant = tenantId ?? 'none';
            turnLogger(context).warn({ tenantId: refusedTenant }, 'activity refused: tenant not allowed');
            return;
          }
          await bot.run(context);
        },
      );
      if (refusedTenant !== null) {
        res.send(403, { error: 'This Registrar does not serve your organisation.' });
        return;
      }
      res.status(invokeResponse?.status ?? 200);
      if (invokeResponse?.body !== undefined) res.send(invokeResponse.body);
      else res.end();
    } catch (err) {
      if (err instanceof AuthenticationError) {
        requestLog().warn({ reason: err.message }, 'activity refused: not authenticated');
        res.send(401, { error: 'Unauthorized' });
        return;
      }
      requestLog().error({ err }, 'activity failed');
      recordException(err);
      res.send(500, { error: 'Internal error' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.port, config.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const displayHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${displayHost}:${port}`,
    port,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.server.closeIdleConnections();
        const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
        await Promise.race([Promise.allSettled([...inFlight]), deadline]);
        server.server.closeAllConnections();
        await closed;
      })();
      return stopping;
    },
  };
}

function safeTurnLogger(context: TurnContext, fallback: Logger): Logger {
  try {
    return turnLogger(context);
  } catch {
    return fallback.child({ activityId: context.activity.id });
  }
}
