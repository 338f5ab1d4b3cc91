/**
 * WCAG 2.x AA contrast of every coloured text of every card, against the background of the container style it sits
 * in, in Teams' light (default) and dark themes: 4.5:1 for normal text, 3:1 for large text. The templates are walked
 * as they are (static colours) and as the renderers fill them with the unit tests' sample data (colours chosen in
 * code, such as a risk's or a deadline's).
 *
 * Large text is WCAG's large scale: at least 18pt (24px), or 14pt (18.67px) and bold. With Teams' font sizes only
 * ExtraLarge (24px) qualifies; Large is 18px, short of 18.67px even when bold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderNotice } from '../../../src/cards/cards';
import { renderReminderDigest, renderRotationCleanup } from '../../../src/cards/reminder-cards';
import { cleanupView, expiringMix, ownerNames, samples, scanAt } from './card-samples';
import type { Json } from './card-walk';

type Theme = 'light' | 'dark';
type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
type ColorName = 'default' | 'dark' | 'light' | 'accent' | 'good' | 'warning' | 'attention';

/**
 * Colours of Microsoft Teams' host configs as the Adaptive Cards project publishes them for its designer ("Microsoft
 * Teams - Light" and "Microsoft Teams - Dark"): samples/HostConfig/microsoft-teams-light.json and
 * microsoft-teams-dark.json in github.com/microsoft/AdaptiveCards. Values are #AARRGGBB (alpha first, as host
 * configs write them) or #RRGGBB. The foreground colours are the same in every container style of a theme, except
 * that in the dark theme the light-backed styles (accent, good, attention, warning) draw default text dark.
 */
const lightForeground: Record<ColorName, { default: string; subtle: string }> = {
  default: { default: '#ff252424', subtle: '#bf252424' },
  dark: { default: '#252424', subtle: '#bf252424' },
  light: { default: '#ffffff', subtle: '#fff3f2f1' },
  accent: { default: '#6264a7', subtle: '#8b8cc7' },
  good: { default: '#92c353', subtle: '#e592c353' },
  warning: { default: '#f8d22a', subtle: '#e5f8d22a' },
  attention: { default: '#c4314b', subtle: '#e5c4314b' },
};
const darkForeground: Record<ColorName, { default: string; subtle: string }> = {
  default: { default: '#ffffffff', subtle: '#bfffffff' },
  dark: { default: '#ff201f1f', subtle: '#ff2d2c2c' },
  light: { default: '#ffffffff', subtle: '#bfffffff' },
  accent: { default: '#ffa6a7dc', subtle: '#ff8b8cc7' },
  good: { default: '#ff92c353', subtle: '#e592c353' },
  warning: { default: '#fff8d22a', subtle: '#e5f8d22a' },
  attention: { default: '#ffd74654', subtle: '#e5d74654' },
};
const darkOnLight = { ...darkForeground, default: { default: '#ff201f1f', subtle: '#ff2d2c2c' } };

const hostConfig: Record<
  Theme,
  Record<ContainerStyle, { background: string; foreground: Record<ColorName, { default: string; subtle: string }> }>
> = {
  light: {
    default: { background: '#ffffff', foreground: lightForeground },
    emphasis: { background: '#fff9f8f7', foreground: lightForeground },
    accent: { background: '#C7DEF9', foreground: lightForeground },
    good: { background: '#CCFFCC', foreground: lightForeground },
    attention: { background: '#FFC5B2', foreground: lightForeground },
    warning: { background: '#FFE2B2', foreground: lightForeground },
  },
  dark: {
    default: { background: '#ff2d2c2c', foreground: darkForeground },
    emphasis: { background: '#ff292828', foreground: darkForeground },
    accent: { background: '#C7DEF9', foreground: darkOnLight },
    good: { background: '#CCFFCC', foreground: darkOnLight },
    attention: { background: '#FFC5B2', foreground: darkOnLight },
    warning: { background: '#FFE2B2', foreground: darkOnLight },
  },
};

/** Teams' font sizes in px (the same in both themes). */
const fontPx: Record<string, number> = { small: 12, default: 14, medium: 14, large: 18, extralarge: 24 };

type Rgba = [number, number, number, number];

function parse(hex: string): Rgba {
  const h = hex.replace('#', '');
  const [a, rest] = h.length === 8 ? [parseInt(h.slice(0, 2), 16) / 255, h.slice(2)] : [1, h];
  return [parseInt(rest.slice(0, 2), 16), parseInt(rest.slice(2, 4), 16), parseInt(rest.slice(4, 6), 16), a];
}

/** The colour as drawn over an opaque background. */
function over(fg: Rgba, bg: Rgba): Rgba {
  const a = fg[3];
  return [0, 1, 2].map((i) => fg[i]! * a + bg[i]! * (1 - a)).concat(1) as Rgba;
}

/** WCAG 2.x relative luminance. */
function luminance([r, g, b]: Rgba): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrastRatio(foreground: string, background: string): number {
  const bg = over(parse(background), [255, 255, 255, 1]);
  const fg = over(parse(foreground), bg);
  const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

const containerTypes = new Set(['Container', 'Column', 'ColumnSet', 'Table', 'TableCell', 'TableRow']);
const styles = new Set<string>(['default', 'emphasis', 'good', 'attention', 'warning', 'accent']);
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isDynamic = (value: unknown) => typeof value === 'string' && value.includes('${');

interface Problem {
  text: string;
  color: string;
  subtle: boolean;
  style: string;
  theme: Theme;
  ratio: number;
  needed: number;
}

/**
 * Every text of the card with a colour or isSubtle, checked in both themes. A colour or a container style that is a
 * template expression is left to the rendered cards; a style a card may not name (an unknown value) fails.
 */
function contrastProblems(card: unknown): Problem[] {
  const problems: Problem[] = [];
  const check = (item: Json, style: string | undefined) => {
    const color = item.color;
    const subtle = item.isSubtle === true;
    if (color === undefined && !subtle) return;
    if (style === undefined || isDynamic(color)) return;
    const colorName = String(color ?? 'default').toLowerCase() as ColorName;
    const size = String(item.size ?? 'default').toLowerCase();
    const bold = String(item.weight ?? 'default').toLowerCase() === 'bolder';
    const px = fontPx[size] ?? 14;
    const needed = px >= 24 || (bold && px >= 18.67) ? 3 : 4.5;
    for (const theme of ['light', 'dark'] as const) {
      const host = hostConfig[theme][style as ContainerStyle];
      const fg = host?.foreground[colorName];
      const text = String(item.text ?? '');
      if (!host || !fg) {
        problems.push({ text, color: String(color), subtle, style, theme, ratio: 0, needed });
        continue;
      }
      const ratio = contrastRatio(subtle ? fg.subtle : fg.default, host.background);
      if (ratio < needed)
        problems.push({ text, color: String(color ?? 'Default'), subtle, style, theme, ratio, needed });
    }
  };
  const visit = (value: unknown, style: string | undefined): void => {
    if (Array.isArray(value)) return value.forEach((item) => visit(item, style));
    if (!isObject(value)) return;
    let here = style;
    if (containerTypes.has(String(value.type)) && value.style !== undefined && value.style !== null) {
      here = isDynamic(value.style) ? undefined : String(value.style).toLowerCase();
      if (here !== undefined && !styles.has(here)) here = String(value.style);
    }
    if (value.type === 'TextBlock') check(value, here);
    if (value.type === 'RichTextBlock' && Array.isArray(value.inlines))
      for (const run of value.inlines) if (isObject(run) && run.type === 'TextRun') check(run, here);
    // An Action.ShowCard's card is drawn in the emphasis style (host config actions.showCard.style).
    if (value.type === 'Action.ShowCard' && isObject(value.card)) {
      visit(value.card, 'emphasis');
      return;
    }
    for (const [key, item] of Object.entries(value)) if (key !== 'inlines') visit(item, here);
  };
  visit(card, 'default');
  return problems;
}

const describeProblem = (p: Problem) =>
  `"${p.text.replace(/\u200B/g, '')}" (${p.subtle ? 'subtle ' : ''}${p.color}) on ${p.style} in the ${p.theme} theme: ${p.ratio.toFixed(2)}:1, needs ${p.needed}:1`;

const templateDir = join(__dirname, '../../../adaptiveCards');
const templates = readdirSync(templateDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.replace(/\.json$/, ''));

/** Renders beyond the shared samples, so that every colour a renderer can choose is drawn at least once. */
const extraRenders: Record<string, Array<{ label: string; render: () => AdaptiveCard }>> = {
  notice: (['info', 'refusal', 'error'] as const).map((tone) => ({
    label: `tone ${tone}`,
    render: () => renderNotice({ tone, title: `A ${tone} notice`, text: 'What happened.', reference: 'r-1' }),
  })),
  'rotation-cleanup': (['ask', 'removed', 'kept'] as const).map((state) => ({
    label: `state ${state}`,
    render: () => renderRotationCleanup(cleanupView({ state })),
  })),
  'reminder-digest': [
    {
      label: 'as an owner sees it after a refresh',
      render: () =>
        renderReminderDigest({
          credentials: expiringMix(),
          scanAt,
          ownerNames,
          ownedApplications: new Set(expiringMix().map((c) => c.applicationObjectId)),
        }),
    },
  ],
};

describe('contrast of coloured text (WCAG AA) in Teams light and dark', () => {
  test('the contrast computation agrees with WCAG: black on white is 21:1, white on white 1:1, and alpha is drawn over the background', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBeCloseTo(1, 5);
    expect(contrastRatio('#00000000', '#ffffff')).toBeCloseTo(1, 5);
    // Teams' yellow on white, the colour of the issue's "Medium risk".
    expect(contrastRatio('#f8d22a', '#ffffff')).toBeLessThan(2);
    expect(contrastProblems({ type: 'TextBlock', text: 'x', color: 'Warning' }).map((p) => p.theme)).toEqual(['light']);
    expect(
      contrastProblems({
        type: 'Container',
        style: 'attention',
        items: [{ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'x', color: 'Attention' }] }],
      }).length,
    ).toBe(2);
  });

  test.each(templates)('the template %s, as written', (name) => {
    const template = JSON.parse(readFileSync(join(templateDir, `${name}.json`), 'utf8')) as unknown;
    expect(contrastProblems(template).map(describeProblem)).toEqual([]);
  });

  test.each(templates)('the card %s, rendered from the sample data', (name) => {
    const renders = [...(samples[name] ?? []), ...(extraRenders[name] ?? [])];
    expect(renders.length).toBeGreaterThan(0);
    const problems = renders.flatMap(({ label, render }) =>
      contrastProblems(render()).map((p) => `${label}: ${describeProblem(p)}`),
    );
    expect([...new Set(problems)]).toEqual([]);
  });
});
