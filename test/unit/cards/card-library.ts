import * as AC from 'adaptivecards';

/**
 * The adaptivecards library, for test files that run in jest's jsdom environment (the UMD bundle needs `window`
 * to load, and its package "main" is ESM that jest cannot require: jest.config.js maps it to the UMD file).
 */

// jsdom has no innerText, which the renderer uses for TextRun: without this the rendered text would be empty.
if (!Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'innerText')) {
  Object.defineProperty(HTMLElement.prototype, 'innerText', {
    get(this: HTMLElement) {
      return this.textContent;
    },
    set(this: HTMLElement, value: string) {
      this.textContent = value;
    },
    configurable: true,
  });
}

/** Parse-phase and validation-phase events of the library; empty for a card it accepts. */
export function libraryEvents(card: object): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  const events: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const message = context.getEventAt(i).message;
    // Teams' CodeBlock (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#codeblock-in-adaptive-cards)
    // is unknown to the library, which then parses and checks its fallback; a CodeBlock without one is still reported.
    if (message === 'Unknown element type "CodeBlock". Fallback will be used if present.') continue;
    events.push(`parse: ${message}`);
  }
  for (const block of codeBlocks(card))
    if (typeof block.fallback !== 'object' || block.fallback === null)
      events.push('parse: a CodeBlock has no fallback element, so hosts other than Teams show nothing');
  for (const e of parsed.validateProperties().validationEvents) events.push(`validate: ${e.message}`);
  return events;
}

/**
 * Renders the card as a web client would. `markdownInputs` is every text the renderer offered to markdown
 * processing (which is then declined, so the DOM shows the raw text).
 */
export function renderInDom(card: object): { element: HTMLElement; markdownInputs: string[] } {
  const markdownInputs: string[] = [];
  const previous = AC.AdaptiveCard.onProcessMarkdown;
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    markdownInputs.push(text);
    result.didProcess = false;
  };
  try {
    const parsed = new AC.AdaptiveCard();
    parsed.parse(card);
    const element = parsed.render();
    if (!element) throw new Error('the adaptivecards renderer returned nothing');
    return { element, markdownInputs };
  } finally {
    AC.AdaptiveCard.onProcessMarkdown = previous;
  }
}

function codeBlocks(value: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(value)) return value.flatMap(codeBlocks);
  if (typeof value !== 'object' || value === null) return [];
  const element = value as Record<string, unknown>;
  return [...(element.type === 'CodeBlock' ? [element] : []), ...Object.values(element).flatMap(codeBlocks)];
}
