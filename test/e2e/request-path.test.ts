/**
 * The request path in a real browser, as two people do it in local mode (`node dist/src/local/start.js`, what
 * `npm start` runs): Alex asks for an app in his personal chat; Megan sees it in the approvals channel from a second
 * browser context that the Agents Playground takes for her (test/helpers/e2e-local-mode.ts actAs), and approves it
 * from `pending` in her own personal chat, in a Playground of her own (what `npm run playground -- megan` opens: a
 * Playground's personal chat is its current user's); the bot provisions it in the local tenant, and Alex reveals the
 * client secret once and then sees only its hint and expiry. Every copy of the request's card follows it to Delivered.
 *
 * Screenshots of each stage go to test-results/ (git-ignored), and a last one of each page however the test ends.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { alex, demoTeam, demoUsers } from '../../src/local/demo-identities';
import { startPlayground, type Playground as RunningPlayground } from '../../src/local/playground';
import { PlaygroundPage } from '../helpers/playground-page';
import {
  actAs,
  freshLocalModeSettings,
  launchChromium,
  type LocalMode,
  startLocalMode,
} from '../helpers/e2e-local-mode';

jest.setTimeout(240_000);

const screenshots = join(__dirname, '../..', 'test-results');

/** Generous: the CI machine has two busy cores. */
const WAIT_MS = 60_000;

const megan = demoUsers[0]!;
const general = `${demoTeam.name} - General`;
const appName = 'Payroll export';

/** One person's Playground tab. */
class Playground extends PlaygroundPage {
  private readonly streamOpened: Promise<void>;

  constructor(
    page: Page,
    private readonly who: string,
  ) {
    super(page);
    this.streamOpened = new Promise((resolve) =>
      page.on('websocket', (socket) => {
        if (socket.url().includes('/_ws_conversation/')) resolve();
      }),
    );
  }

  /** Until the page has its websocket for new messages and card updates (other people's posts arrive only over it). */
  async conversationStream(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.who}'s page opened no conversation stream within ${WAIT_MS / 1000} s`)),
        WAIT_MS,
      );
    });
    await Promise.race([this.streamOpened, timeout]).finally(() => clearTimeout(timer));
  }

  /** Opens the Playground and waits until its chats are listed. */
  async load(url: string): Promise<void> {
    const config = this.page.waitForResponse((r) => r.url().includes('/_internal/v1/config'), { timeout: WAIT_MS });
    await this.page.goto(url);
    await config;
    await this.page.getByRole('treeitem', { name: 'Personal Chat' }).waitFor();
  }

  /** The newest card with every text and, when given, a button of that name; waits until there is one. */
  async card(texts: string[], button?: string): Promise<Locator> {
    let cards = this.cards(...texts);
    if (button) cards = cards.filter({ has: this.page.getByRole('button', { name: button, exact: true }) });
    const card = cards.last();
    await card.waitFor();
    return card;
  }

  /** The page with `card` scrolled into view. */
  async screenshot(name: string, card?: Locator): Promise<void> {
    mkdirSync(screenshots, { recursive: true });
    await card?.scrollIntoViewIfNeeded();
    await this.page.screenshot({ path: join(screenshots, `e2e-request-path-${name}.png`) });
  }

  async lastScreenshot(): Promise<void> {
    await this.screenshot(`last-${this.who}`).catch(() => undefined);
  }
}

describe('the request path in the Agents Playground', () => {
  let dataDir: string;
  let localMode: LocalMode | undefined;
  let browser: Browser | undefined;
  /** Megan's own Playground, whose current user she is, pointed at the same bot. */
  let meganPlayground: RunningPlayground | undefined;
  let botPort: number;
  let meganPlaygroundPort: number;
  const pages: Playground[] = [];

  /**
   * A Playground tab in its own browser context: local mode's, as `who` when it is not its current user (Megan), or
   * Megan's own Playground (`megan-chat`).
   */
  async function openPlayground(who: 'alex' | 'megan' | 'megan-chat'): Promise<Playground> {
    if (!localMode || !browser) throw new Error('local mode or the browser is not running');
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(WAIT_MS);
    if (who === 'megan') await actAs(context, megan);
    const playground = new Playground(await context.newPage(), who);
    pages.push(playground);
    if (who === 'megan-chat') {
      meganPlayground ??= await startPlayground({
        botEndpoint: `http://127.0.0.1:${botPort}/api/messages`,
        port: meganPlaygroundPort,
        dataDir: join(dataDir, 'playground-megan'),
        currentUser: megan,
      });
      await playground.load(meganPlayground.url);
    } else {
      await playground.load(localMode.playgroundUrl);
    }
    return playground;
  }

  beforeAll(async () => {
    const fresh = await freshLocalModeSettings('registrar-e2e-request-', 1);
    dataDir = fresh.settings.dataDir;
    botPort = fresh.settings.port;
    meganPlaygroundPort = fresh.extraPorts[0]!;
    localMode = await startLocalMode(fresh.settings);
    browser = await launchChromium();
  });

  afterAll(async () => {
    try {
      for (const playground of pages) await playground.lastScreenshot();
      await browser?.close();
      await meganPlayground?.stop();
    } finally {
      const stopped = await localMode?.stop();
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
      if (stopped) expect({ code: stopped.code, killed: stopped.killed }).toEqual({ code: 0, killed: false });
    }
  });

  test(`when ${alex.name} asks for an app and ${megan.name} approves it from \`pending\` in her personal chat, then ${alex.name} reveals its secret once and afterwards sees only its hint and expiry, and every copy of the card says Delivered`, async () => {
    // Arrange: Megan's page is open in General before anything is posted there (the Playground pushes posts and
    // card updates only to pages that are open), and Alex makes General the approvals channel.
    const alexPage = await openPlayground('alex');
    const meganPage = await openPlayground('megan');
    await meganPage.openChat(general);
    await meganPage.conversationStream();
    await alexPage.postMentioningBot(general, 'setup approvals');
    await alexPage.card(['This channel now receives approval requests']);

    // Act 1: Alex opens the form, finds a permission with the filter box, ticks it, and submits.
    await alexPage.sendInPersonalChat('request');
    let form = await alexPage.card(['Ask for an app registration'], 'Submit request');
    const requestId = /Request\s+([0-9A-Z]{8})\b/.exec(await form.innerText())?.[1];
    if (!requestId) throw new Error(`the form names no request id:\n${await form.innerText()}`);
    await form.getByLabel('App name (required)').fill(appName);
    await form.getByLabel('Purpose (required)').fill('Nightly export of payroll data to the finance warehouse.');
    await form.getByRole('radio', { name: 'None: a daemon or API (client credentials)' }).check();
    await form.getByRole('textbox', { name: 'Find permissions' }).fill('User.Read.All');
    await form.getByRole('button', { name: 'Find permissions' }).click();
    form = await alexPage.card(['Ask for an app registration', requestId, '“User.Read.All”'], 'Submit request');
    // What was typed before Find comes back with the matches.
    expect(await form.getByLabel('App name (required)').inputValue()).toBe(appName);
    // The whole catalog also holds IdentityRiskyUser.Read.All: the name must start at a word.
    await form.getByRole('checkbox', { name: /(^|\s)Application \(acts as itself\): User\.Read\.All · / }).check();
    await form.getByRole('radio', { name: 'Client secret' }).check();
    await form.getByLabel('Client secret lifetime, in days').fill('30');
    await alexPage.screenshot('1-form', form);
    await form.getByRole('button', { name: 'Submit request' }).click();

    // Assert 1: the form became the status card.
    const waiting = await alexPage.card([appName, requestId, 'Waiting for approval'], 'Cancel request');
    expect(await waiting.innerText()).toMatch(/User\.Read\.All \(application, Microsoft Graph\)/);
    await alexPage.screenshot('2-status-waiting', waiting);

    // Act 2: Megan sees the approval card in the channel; in her personal chat she types pending, presses Review on the
    // request (the Playground does not refresh a card per user, so the list itself becomes its decision card), and
    // approves there.
    const approval = await meganPage.card(['App registration request', appName, requestId], 'Approve or reject…');
    expect(await approval.innerText()).toMatch(/Asked by\s+Alex Wilber/);
    await meganPage.screenshot('3-approval-card', approval);
    const meganChat = await openPlayground('megan-chat');
    // Her own first personal chat with Registrar welcomes her, once, as Alex's welcomed him.
    const welcome = await meganChat.card([`Hello, ${megan.name}`, 'Ask me for a Microsoft Entra ID app registration']);
    expect(await welcome.innerText()).not.toMatch(/still being built/i);
    expect(await meganChat.cards(`Hello, ${megan.name}`).count()).toBe(1);
    await meganChat.sendInPersonalChat('pending');
    const waitingList = await meganChat.card(['Waiting for your decision', requestId], 'Review');
    await waitingList.getByRole('button', { name: 'Review', exact: true }).click();
    const decision = await meganChat.card(['App registration request', requestId], 'Approve');
    expect(await decision.getByRole('button', { name: 'Reject', exact: true }).count()).toBe(1);
    await meganChat.screenshot('4-approval-decision-personal-chat', decision);
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    // Her approval, whether the card still carries the click's answer ("You approved this request…") or provisioning
    // has already replaced it with the request's progress: that message is the click's, and lasts only until then.
    const approvedThere = await meganChat.card([
      'App registration request',
      requestId,
      '1 of 1 approval so far: Megan Bowen',
    ]);
    expect(await approvedThere.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);

    // Assert 2: the channel's card says Megan approved it (in whatever state provisioning has reached by now).
    const approved = await meganPage.card([
      'App registration request',
      requestId,
      '1 of 1 approval so far: Megan Bowen',
    ]);
    expect(await approved.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
    await meganPage.screenshot('5-approved', approved);

    // Act 3: provisioning runs in the background; the delivery card comes to Alex's personal chat, and he reveals.
    const ready = await alexPage.card(['Your app registration is ready', requestId], 'Reveal client secret');
    expect(await ready.innerText()).toMatch(/It will be valid for 30 days from that click/);
    await alexPage.screenshot('6-delivery-ready', ready);
    await ready.getByRole('button', { name: 'Reveal client secret' }).click();

    // Assert 3: the secret, in monospace, with the outcome of the token check and its expiry.
    const revealed = await alexPage.card(['Your app registration is ready', requestId], 'I have stored it');
    const secretRun = revealed.locator('#clientSecret .ac-textRun');
    const secret = (await secretRun.innerText()).trim();
    expect(secret).toMatch(/^[\x21-\x7E]{30,256}$/);
    expect(await secretRun.evaluate((run) => getComputedStyle(run).fontFamily)).toMatch(/monospace/i);
    const revealedText = await revealed.innerText();
    expect(revealedText).toMatch(
      /A token was issued with this secret: it works\.|Entra ID has not started accepting it yet/,
    );
    const validUntil = /Valid until (.+ UTC)\./.exec(revealedText)?.[1];
    if (!validUntil) throw new Error(`the card shows no expiry of the secret:\n${revealedText}`);
    // The 30 days Alex chose, counted from the click ("23 Dec 2026, 11:53 UTC"; the card shows minutes).
    const lifetimeDays = (Date.parse(validUntil.replace(',', '')) - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(29.9);
    expect(lifetimeDays).toBeLessThan(30.1);
    await alexPage.screenshot('7-secret-revealed', revealed);

    // Act 4: Alex has put it in his password manager.
    await revealed.getByRole('button', { name: 'I have stored it' }).click();

    // Assert 4: only the hint and the expiry are left, and the secret is on neither page nor in what the bot and the
    // local tenant printed.
    const stored = await alexPage.card([
      'Your app registration is ready',
      requestId,
      'The secret itself is no longer shown anywhere',
    ]);
    const storedText = await stored.innerText();
    const hint = /Client secret (\S+)… \(its first characters\), valid until (.+ UTC)/.exec(storedText);
    if (!hint) throw new Error(`the card shows no hint and expiry of the secret:\n${storedText}`);
    expect(hint[2]).toBe(validUntil);
    expect(secret.startsWith(hint[1]!)).toBe(true);
    expect(hint[1]!.length).toBeLessThan(secret.length);
    expect(await stored.getByRole('button').count()).toBe(0);
    await alexPage.screenshot('8-secret-stored', stored);
    // The status card in Alex's chat and the approval card in General were kept up to date in place.
    const delivered = await alexPage.card([appName, requestId, 'Delivered', 'Permissions asked for']);
    expect(await delivered.innerText()).toMatch(/The client secret was revealed to Alex Wilber/);
    await meganPage.card(['App registration request', requestId, 'Delivered']);
    await meganPage.screenshot('9-approval-delivered', meganPage.cards(requestId).last());
    // So was the card Megan approved on in her personal chat: it no longer says the app is being created.
    const meganCopy = await meganChat.card(['App registration request', requestId, 'Delivered']);
    const meganCopyText = await meganCopy.innerText();
    expect(meganCopyText).toMatch(/The client secret was revealed to Alex Wilber/);
    expect(meganCopyText).not.toMatch(/Registrar is creating the app now/);
    expect(meganCopyText).not.toMatch(/\bPending\b/);
    await meganChat.screenshot('10-personal-chat-approval-delivered', meganCopy);
    expect(await alexPage.page.content()).not.toContain(secret);
    expect(await meganPage.page.content()).not.toContain(secret);
    expect(await meganChat.page.content()).not.toContain(secret);
    expect(localMode!.output()).not.toContain(secret);
  });
});
