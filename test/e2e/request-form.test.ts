/**
 * The request form in a real browser, in local mode (`node dist/src/local/start.js`, what `npm start` runs), as a
 * person meets it in the Agents Playground: no permission box that does nothing (the Playground has no type-ahead),
 * Find shows each permission's whole description and says what delegated and application permissions are, and a
 * Submit with the required fields empty says, right where the person clicked, that nothing was sent and what to
 * change.
 *
 * Screenshots go to test-results/ (git-ignored): the refused Submit as the person sees it, and a last one however the
 * test ends.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import catalog from '../../src/local/tenant/graph-permissions.json';
import { PlaygroundPage } from '../helpers/playground-page';
import { freshLocalModeSettings, launchChromium, type LocalMode, startLocalMode } from '../helpers/e2e-local-mode';

jest.setTimeout(240_000);

const screenshots = join(__dirname, '../..', 'test-results');

/** Generous: the CI machine has two busy cores. */
const WAIT_MS = 60_000;

const userReadAll = catalog.find((p) => p.value === 'User.Read.All' && p.type === 'Role')!;

/**
 * Whether a person sees `element` without scrolling: its box lies within the page's viewport, and what the browser
 * shows at its centre belongs to it (so no scrolled-away pane or other layer hides it).
 */
async function inView(page: Page, element: Locator): Promise<{ box: unknown; viewport: unknown; onTop: boolean }> {
  const viewport = page.viewportSize()!;
  const box = await element.boundingBox();
  const onTop = await element.evaluate((node) => {
    const r = node.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 20));
    return hit !== null && node.contains(hit);
  });
  const within =
    !!box && box.y >= 0 && box.x >= 0 && box.y + box.height <= viewport.height && box.x + box.width <= viewport.width;
  return { box: within ? 'within the viewport' : box, viewport, onTop };
}

describe('the request form in the Agents Playground', () => {
  let dataDir: string;
  let localMode: LocalMode | undefined;
  let browser: Browser | undefined;
  let playground: PlaygroundPage | undefined;

  beforeAll(async () => {
    const { settings } = await freshLocalModeSettings('registrar-e2e-form-');
    dataDir = settings.dataDir;
    localMode = await startLocalMode(settings);
    browser = await launchChromium();
  });

  afterAll(async () => {
    try {
      if (playground) {
        mkdirSync(screenshots, { recursive: true });
        await playground.page
          .screenshot({ path: join(screenshots, 'e2e-request-form-last.png') })
          .catch(() => undefined);
      }
      await browser?.close();
    } finally {
      const stopped = await localMode?.stop();
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
      if (stopped) expect({ code: stopped.code, killed: stopped.killed }).toEqual({ code: 0, killed: false });
    }
  });

  /** The newest form card that shows every text; waits until there is one. */
  async function form(...texts: string[]): Promise<Locator> {
    const card = playground!
      .cards('Ask for an app registration', ...texts)
      .filter({ has: playground!.page.getByRole('button', { name: 'Submit request', exact: true }) })
      .last();
    await card.waitFor();
    return card;
  }

  test('when a person opens the form, finds a permission and submits with the required fields empty, then there is no dead type-ahead box, descriptions are whole, both kinds are explained, and the summary by Submit is in view', async () => {
    if (!localMode || !browser) throw new Error('local mode or the browser is not running');
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    playground = new PlaygroundPage(page);
    const config = page.waitForResponse((r) => r.url().includes('/_internal/v1/config'), { timeout: WAIT_MS });
    await page.goto(localMode.playgroundUrl);
    await config;
    await page.getByRole('treeitem', { name: 'Personal Chat' }).waitFor();

    // Act 1: the form, as the `request` command sends it.
    await playground.sendInPersonalChat('request');
    let card = await form('Find permissions');
    const requestId = /Request\s+([0-9A-Z]{8})\b/.exec(await card.innerText())?.[1];
    if (!requestId) throw new Error(`the form names no request id:\n${await card.innerText()}`);

    // Assert 1: no type-ahead (which the Playground would render as a box that finds nothing); Find is there.
    expect(await card.getByPlaceholder('Type a name, for example Mail.Send').count()).toBe(0);
    expect(await card.getByLabel('Microsoft Graph permissions').count()).toBe(0);
    await expect(card.getByRole('textbox', { name: 'Find permissions' }).isVisible()).resolves.toBe(true);
    expect(await card.innerText()).toContain('No Microsoft Graph permission chosen yet');

    // Act 2: Find.
    await card.getByRole('textbox', { name: 'Find permissions' }).fill('User.Read.All');
    await card.getByRole('button', { name: 'Find permissions' }).click();
    card = await form(requestId, '“User.Read.All”');

    // Assert 2: the whole description, the row labelled by its kind, and both kinds explained in plain words. (A
    // checkbox's accessible name starts with the list's label, "Microsoft Graph permissions".)
    const row = card.getByRole('checkbox', { name: /(^|\s)Application \(acts as itself\): User\.Read\.All · / });
    await row.waitFor();
    const rowName = await row.evaluate((input) => ((input as HTMLInputElement).labels?.[0]?.textContent ?? '').trim());
    expect(rowName).toBe(`Application (acts as itself): User.Read.All · admin consent · ${userReadAll.description}`);
    const text = await card.innerText();
    expect(text).not.toMatch(/…/);
    expect(text).toMatch(/Delegated\s*: the app acts as the signed-in person, and can do only what that person can\./);
    expect(text).toMatch(
      /Application\s*: the app acts as itself, with no one signed in\. A daemon or background service \(platform “None: a daemon or API”\) needs these\. An admin consents to them for the whole organisation\./,
    );
    expect(
      await card
        .getByRole('checkbox', { name: /(^|\s)Delegated \(acts as the signed-in person\): User\.Read\.All · / })
        .count(),
    ).toBe(1);

    // Act 3: Submit with the app name and the purpose empty (clicking scrolls to the button, as a person does).
    await card.getByRole('button', { name: 'Submit request', exact: true }).click();
    card = await form(requestId, 'Not sent yet: change these, then submit again');

    // Assert 3: right by the Submit button, without scrolling: nothing was sent, and what to change.
    // The container that holds the summary, not the card around it.
    const summary = card
      .locator('.ac-container')
      .filter({ hasText: 'Not sent yet: change these, then submit again' })
      .filter({ hasNotText: 'Ask for an app registration' })
      .last();
    await summary.waitFor();
    const summaryText = await summary.innerText();
    expect(summaryText).toMatch(/App name:\s*The app name is required\./);
    expect(summaryText).toMatch(/Purpose:\s*The purpose is required\./);
    // Give the Playground a moment to settle the replaced card's layout before judging what is in view.
    await page.waitForTimeout(500);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'e2e-request-form-invalid-submit.png') });
    expect(await inView(page, summary)).toEqual({
      box: 'within the viewport',
      viewport: page.viewportSize(),
      onTop: true,
    });
    expect(await inView(page, card.getByRole('button', { name: 'Submit request', exact: true }))).toMatchObject({
      box: 'within the viewport',
      onTop: true,
    });
    // The messages by each field and the summary at the top are there too.
    expect(await card.innerText()).toContain('2 fields need a change: App name and Purpose.');
    await context.close();
  });
});
