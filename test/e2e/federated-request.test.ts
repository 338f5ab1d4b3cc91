/**
 * A federated credential in a real browser, in local mode (`node dist/src/local/start.js`, what `npm start` runs):
 * Alex fills the form with Federated credential / GitHub Actions in his Agents Playground; Megan, in a second browser
 * context with a Playground of her own (a Playground's personal chat is its current user's), approves it from
 * `pending`; the bot provisions it in the local tenant, and Alex's delivery card has nothing to reveal and the
 * workflow job that uses the credential, with the app's client id and the tenant id.
 *
 * Every wait is on text a person would see; screenshots of each stage go to test-results/ (git-ignored).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { demoTenantId, demoTeam, demoUsers } from '../../src/local/demo-identities';
import { startPlayground, type Playground as RunningPlayground } from '../../src/local/playground';
import { PlaygroundPage } from '../helpers/playground-page';
import { freshLocalModeSettings, launchChromium, type LocalMode, startLocalMode } from '../helpers/e2e-local-mode';

jest.setTimeout(240_000);

const screenshots = join(__dirname, '../..', 'test-results');

/** Generous: the CI machine has two busy cores. */
const WAIT_MS = 60_000;

const megan = demoUsers[0]!;
const general = `${demoTeam.name} - General`;
const appName = 'Payments deploy';

class Playground extends PlaygroundPage {
  constructor(
    page: Page,
    private readonly who: string,
  ) {
    super(page);
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

  /** Picks `option` in the card's drop-down list `label` (the Playground draws a Fluent UI combobox), as a person does. */
  async choose(card: Locator, label: string, option: string): Promise<void> {
    const box = card.getByRole('combobox', { name: label });
    await box.click();
    await this.page.getByRole('option', { name: option, exact: true }).click();
    if ((await box.inputValue()) !== option)
      throw new Error(`"${label}" shows "${await box.inputValue()}" after choosing "${option}"`);
  }

  async screenshot(name: string, card?: Locator): Promise<void> {
    mkdirSync(screenshots, { recursive: true });
    await card?.scrollIntoViewIfNeeded();
    await this.page.screenshot({ path: join(screenshots, `e2e-federated-request-${name}.png`) });
  }

  async lastScreenshot(): Promise<void> {
    await this.screenshot(`last-${this.who}`).catch(() => undefined);
  }
}

describe('a federated credential in the Agents Playground', () => {
  let dataDir: string;
  let localMode: LocalMode | undefined;
  let browser: Browser | undefined;
  let meganPlayground: RunningPlayground | undefined;
  let botPort: number;
  let meganPlaygroundPort: number;
  const pages: Playground[] = [];

  async function openPlayground(who: 'alex' | 'megan'): Promise<Playground> {
    if (!localMode || !browser) throw new Error('local mode or the browser is not running');
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(WAIT_MS);
    const playground = new Playground(await context.newPage(), who);
    pages.push(playground);
    if (who === 'megan') {
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
    const fresh = await freshLocalModeSettings('registrar-e2e-federated-', 1);
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

  test(`when Alex asks for an app with a GitHub Actions federated credential and ${megan.name} approves it, then his delivery card has no secret to reveal and the workflow job with the app's ids`, async () => {
    // Arrange: General is the approvals channel.
    const alexPage = await openPlayground('alex');
    await alexPage.postMentioningBot(general, 'setup approvals');
    await alexPage.card(['This channel now receives approval requests']);

    // Act 1: Alex fills the form with a federated credential for contoso/payments, environment production.
    await alexPage.sendInPersonalChat('request');
    const form = await alexPage.card(['Ask for an app registration'], 'Submit request');
    const requestId = /Request\s+([0-9A-Z]{8})\b/.exec(await form.innerText())?.[1];
    if (!requestId) throw new Error(`the form names no request id:\n${await form.innerText()}`);
    await form.getByLabel('App name (required)').fill(appName);
    await form.getByLabel('Purpose (required)').fill('Deploys the payments service from GitHub Actions.');
    await form.getByRole('radio', { name: 'None: a daemon or API (client credentials)' }).check();
    await form.getByRole('radio', { name: 'Federated credential: safer, no secret to leak or rotate' }).check();
    await alexPage.choose(form, 'For a federated credential, what acts as the app', 'GitHub Actions');
    await form.getByLabel('GitHub organisation').fill('contoso');
    await form.getByLabel('GitHub repository').fill('payments');
    await alexPage.choose(form, 'Runs that act as the app', "An environment's jobs");
    await form.getByLabel('Environment, branch or tag (exactly as GitHub spells it)').fill('production');
    await alexPage.screenshot('1-form', form);
    await form.getByRole('button', { name: 'Submit request' }).click();
    await alexPage.card([appName, requestId, 'Waiting for approval'], 'Cancel request');

    // Act 2: Megan, in her own Playground, reviews it from `pending`: the card names the workload and rates it low.
    const meganChat = await openPlayground('megan');
    await meganChat.card([`Hello, ${megan.name}`]);
    await meganChat.sendInPersonalChat('pending');
    const waitingList = await meganChat.card(['Waiting for your decision', requestId], 'Review');
    await waitingList.getByRole('button', { name: 'Review', exact: true }).click();
    const decision = await meganChat.card(['App registration request', requestId], 'Approve');
    const decisionText = await decision.innerText();
    expect(decisionText).toContain('GitHub Actions in contoso/payments, environment production');
    expect(decisionText).toContain('repo:contoso/payments:environment:production');
    expect(decisionText).toMatch(/Low risk/);
    expect(decisionText).toMatch(/No secret exists to leak/);
    await meganChat.screenshot('2-approval', decision);
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    // Her approval, whether the card still shows the click's answer or provisioning has already moved it on.
    await meganChat.card(['App registration request', requestId, '1 of 1 approval so far: Megan Bowen']);

    // Assert: provisioning runs in the background; Alex's delivery card comes with the snippet and no Reveal.
    const delivered = await alexPage.card(['Your app registration is ready', requestId, 'azure/login@v2']);
    const text = await delivered.innerText();
    const appId = /Application \(client\) ID\s+([0-9a-f-]{36})/.exec(text)?.[1];
    if (!appId) throw new Error(`the delivery card names no client id:\n${text}`);
    expect(text).toContain('No secret or key exists, so there is nothing to reveal or to store.');
    expect(text).toMatch(/id-token: write/);
    expect(text).toMatch(new RegExp(`client-id: ${appId}`));
    expect(text).toMatch(new RegExp(`tenant-id: ${demoTenantId}`));
    expect(text).toMatch(/environment: production/);
    expect(text).not.toMatch(/client secret/i);
    expect(await delivered.getByRole('button').count()).toBe(0);
    // The snippet is in monospace, as the card's fallback for hosts without Teams' CodeBlock shows it.
    const line = delivered.locator('.ac-textRun', { hasText: 'azure/login@v2' }).first();
    expect(await line.evaluate((run) => getComputedStyle(run).fontFamily)).toMatch(/monospace/i);
    await alexPage.screenshot('3-delivery', delivered);
  });
});
