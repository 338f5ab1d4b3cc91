/**
 * Local mode in a real browser: `node dist/src/local/start.js` (what `npm start` runs) with its embedded Azurite
 * and the Microsoft 365 Agents Playground, driven as a person would with Debian's Chromium and playwright-core.
 *
 * The tests share one local-mode process, because starting it costs several seconds, and run in the order
 * written: the first is the first page load the bot ever sees (its greeting), the last restarts the process.
 * Each test opens its own browser context. Screenshots go to test-results/ (git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { alex, demoBot, demoTeam } from '../../src/local/demo-identities';
import { PlaygroundPage } from '../helpers/playground-page';
import { freeLoopbackPorts, type LocalMode, type LocalModeSettings, startLocalMode } from '../helpers/e2e-local-mode';

jest.setTimeout(180_000);

const root = join(__dirname, '../..');
const screenshots = join(root, 'test-results');

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Generous: the CI machine has two busy cores. */
const WAIT_MS = 60_000;

const general = `${demoTeam.name} - General`;
const reminders = `${demoTeam.name} - ${demoTeam.channels[0].name}`;

/** An activity the Playground sent to the bot, as its log panel's stream reports it once the bot has answered. */
interface SentToBot {
  type: string;
  conversationType?: string;
  conversationId?: string;
  status?: number;
  mentions: { id?: string; name?: string }[];
}

interface LogFrame {
  logAction?: string;
  log?: {
    activityName?: string;
    to?: string;
    request?: {
      body?: {
        conversation?: { id?: string; conversationType?: string };
        entities?: { type?: string; mentioned?: { id?: string; name?: string } }[];
      };
    };
    response?: { statusCode?: number };
  };
}

async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One person's Playground tab. */
class Playground extends PlaygroundPage {
  readonly sentToBot: SentToBot[] = [];

  constructor(
    page: Page,
    private url: string,
  ) {
    super(page);
    page.on('websocket', (socket) => {
      if (!socket.url().includes('/_ws/log/stream')) return;
      socket.on('framereceived', ({ payload }) => this.record(String(payload)));
    });
  }

  private record(payload: string): void {
    let frame: LogFrame;
    try {
      frame = JSON.parse(payload) as LogFrame;
    } catch {
      return;
    }
    const log = frame.log;
    if (frame.logAction !== 'appendLog' || !log?.activityName || log.to !== 'User Application') return;
    const body = log.request?.body;
    this.sentToBot.push({
      type: log.activityName,
      conversationType: body?.conversation?.conversationType,
      conversationId: body?.conversation?.id,
      status: log.response?.statusCode,
      mentions: (body?.entities ?? []).filter((e) => e.type === 'mention').map((e) => e.mentioned ?? {}),
    });
  }

  /** Opens (or, after a restart, reopens) the Playground and waits until its chats are listed. */
  async load(url = this.url): Promise<void> {
    this.url = url;
    this.sentToBot.length = 0;
    const config = this.page.waitForResponse((r) => r.url().includes('/_internal/v1/config'), { timeout: WAIT_MS });
    await this.page.goto(url);
    await config;
    await this.page.getByRole('treeitem', { name: 'Personal Chat' }).waitFor();
  }

  /** Until the bot has answered the installationUpdate and conversationUpdate that opening a chat sends. */
  async installEventsAnswered(conversationType: 'personal' | 'channel'): Promise<void> {
    await waitUntil(`the bot answered the install events of the ${conversationType} chat`, () =>
      ['installationUpdate', 'conversationUpdate'].every((type) =>
        this.sentToBot.some((a) => a.type === type && a.conversationType === conversationType && a.status === 200),
      ),
    );
  }

  welcomeCards(): Locator {
    return this.cards('Ask me for a Microsoft Entra ID app registration');
  }

  helpCards(): Locator {
    return this.cards('setup approvals', 'rotate <app>');
  }

  approvalsConfirmations(): Locator {
    return this.cards('This channel now receives approval requests');
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(screenshots, { recursive: true });
    await this.page.screenshot({ path: join(screenshots, name) });
  }
}

describe('local mode (npm start) in the Agents Playground', () => {
  let dataDir: string;
  let settings: LocalModeSettings;
  let localMode: LocalMode | undefined;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function openPlayground(): Promise<Playground> {
    if (!localMode) throw new Error('local mode is not running');
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    contexts.push(context);
    context.setDefaultTimeout(WAIT_MS);
    const playground = new Playground(await context.newPage(), localMode.playgroundUrl);
    await playground.load();
    return playground;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registrar-e2e-'));
    const [port, storagePort, playgroundPort, tenantPort] = await freeLoopbackPorts(4);
    settings = {
      port: port!,
      storagePort: storagePort!,
      playgroundPort: playgroundPort!,
      tenantPort: tenantPort!,
      dataDir,
    };
    localMode = await startLocalMode(settings);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    const stopped = await localMode?.stop();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
    if (stopped) {
      expect({ code: stopped.code, killed: stopped.killed }).toEqual({ code: 0, killed: false });
    }
  });

  test('when the Playground is first opened, then the personal chat has exactly one welcome card, and its "Show commands" shows the help card', async () => {
    // Arrange: the first page load sends both installationUpdate and conversationUpdate.
    const playground = await openPlayground();
    await playground.installEventsAnswered('personal');
    await playground.welcomeCards().first().waitFor();
    expect(await playground.welcomeCards().count()).toBe(1);
    expect(await playground.welcomeCards().first().innerText()).toContain(`Hello, ${alex.name}`);

    // Act
    await playground.welcomeCards().getByRole('button', { name: 'Show commands' }).click();

    // Assert: the welcome card is replaced with the help card.
    await playground.helpCards().first().waitFor();
    await playground.welcomeCards().first().waitFor({ state: 'detached' });
    expect(await playground.welcomeCards().count()).toBe(0);
    expect(await playground.helpCards().count()).toBe(1);
  });

  test('when a person types "help" in the personal chat, then the help card is rendered', async () => {
    // Arrange
    const playground = await openPlayground();
    await playground.installEventsAnswered('personal');
    const before = await playground.helpCards().count();

    // Act
    await playground.sendInPersonalChat('help');

    // Assert
    await waitUntil('a help card arrives', async () => (await playground.helpCards().count()) > before);
    const card = await playground.helpCards().last().innerText();
    expect(card).toContain('setup approvals');
    expect(card).toContain('rotate <app>');
    expect(card).not.toContain('Coming soon');
    await playground.screenshot('e2e-help.png');
  });

  test(`when ${alex.name} mentions Registrar with "setup approvals" in General, then a confirmation naming ${alex.name} appears in the channel`, async () => {
    // Arrange
    const playground = await openPlayground();
    const before = await playground.approvalsConfirmations().count();

    // Act
    await playground.postMentioningBot(general, 'setup approvals');

    // Assert
    await waitUntil('a confirmation arrives', async () => (await playground.approvalsConfirmations().count()) > before);
    const confirmation = await playground.approvalsConfirmations().last().innerText();
    expect(confirmation).toMatch(/Set by\s+Alex Wilber/);
    expect(confirmation).toContain('General, in IT Operations');
    expect(confirmation).not.toMatch(/Replaces/);
    // Alex is an operator as a member of the demo admins group, which the bot asked the local tenant about.
    expect((await localMode!.tenantCalls())['POST /directoryObjects/{id}/checkMemberGroups']).toBeGreaterThanOrEqual(1);
    // The log stream reports the post once the bot has answered it, which is after its reply was shown.
    const channelPost = () =>
      playground.sentToBot.find((a) => a.type === 'message' && a.conversationType === 'channel');
    await waitUntil('the Playground logged the post it sent to the bot', () => channelPost() !== undefined);
    expect(channelPost()?.mentions).toEqual([{ id: demoBot.id, name: demoBot.name }]);
    await playground.screenshot('e2e-setup-approvals.png');
  });

  test('when local mode is stopped with SIGINT and started again on the same data, then the bot remembers the approvals channel and does not greet again', async () => {
    // Arrange: General is the approvals channel (again, so that this test does not depend on the one before).
    const playground = await openPlayground();
    const before = await playground.approvalsConfirmations().count();
    await playground.postMentioningBot(general, 'setup approvals');
    await waitUntil(
      'the General confirmation arrives',
      async () => (await playground.approvalsConfirmations().count()) > before,
    );

    // Act: Ctrl-C, start again, reload (the Playground forgets its chats; the bot's tables stay).
    const stopped = await localMode!.stop();
    localMode = undefined;
    expect({ code: stopped.code, killed: stopped.killed }).toEqual({ code: 0, killed: false });
    localMode = await startLocalMode(settings);
    await playground.load(localMode.playgroundUrl);
    await playground.installEventsAnswered('personal');
    await playground.sendInPersonalChat('help');

    // Assert: the greeting marker was kept, so the install events of the reload greet nobody.
    await playground.helpCards().first().waitFor();
    expect(await playground.welcomeCards().count()).toBe(0);

    // Act
    await playground.postMentioningBot(reminders, 'setup approvals');

    // Assert: the new process read the binding the old one stored, so it says that it replaced one.
    await playground.approvalsConfirmations().first().waitFor();
    const confirmation = await playground.approvalsConfirmations().last().innerText();
    expect(confirmation).toMatch(/Set by\s+Alex Wilber/);
    expect(confirmation).toMatch(/Replaces\s+General, in IT Operations/);
    await playground.screenshot('e2e-restart.png');
  });
});
