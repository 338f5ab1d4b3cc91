/**
 * What a person does in an Agents Playground tab, shared by the browser tests: find cards, open a chat, type in
 * the personal chat, and post in a channel mentioning Registrar as a person does.
 */
import type { Locator, Page } from 'playwright-core';
import { demoBot } from '../../src/local/demo-identities';

export class PlaygroundPage {
  constructor(readonly page: Page) {}

  /** Cards that contain every text (case-insensitive substrings, as Playwright's hasText matches). */
  cards(...texts: string[]): Locator {
    return texts.reduce((cards, text) => cards.filter({ hasText: text }), this.page.locator('.ac-adaptiveCard'));
  }

  async openChat(name: string): Promise<void> {
    await this.page.getByRole('treeitem', { name }).click();
  }

  async sendInPersonalChat(text: string): Promise<void> {
    await this.openChat('Personal Chat');
    await this.page.getByRole('textbox').fill(text);
    await this.page.getByRole('button', { name: 'Send Message' }).click();
  }

  /**
   * A channel post that mentions Registrar as a person does: "@", then Registrar from the suggestions. The
   * Playground then sends a real mention entity, and only mentioned posts reach the bot.
   */
  async postMentioningBot(channel: string, text: string): Promise<void> {
    await this.openChat(channel);
    const compose = this.page
      .getByRole('group')
      .filter({ has: this.page.getByRole('button', { name: 'Post', exact: true }) });
    const box = compose.getByRole('textbox');
    await box.click();
    await box.pressSequentially('@');
    await this.page
      .getByRole('listbox', { name: 'Typeahead menu' })
      .getByRole('menuitem', { name: demoBot.name })
      .click();
    await box.pressSequentially(` ${text}`);
    await compose.getByRole('button', { name: 'Post', exact: true }).click();
  }
}
