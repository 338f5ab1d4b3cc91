import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, type RgbaImage } from './png';

/**
 * Draws Registrar's icons: a key (the credentials it hands out) in white, on the accent colour for color.png
 * and on transparency for outline.png. Run `npm run package:icons` after changing the drawing; the PNGs are committed.
 */
export const accentColor = '#3B5BDB';

/** The key, in unit coordinates: a ring for the bow, a shaft, two teeth. */
function inKey(x: number, y: number): boolean {
  const r = Math.hypot(x - 0.3, y - 0.5);
  const bow = r <= 0.2 && r >= 0.095;
  const shaft = x >= 0.47 && x <= 0.88 && y >= 0.445 && y <= 0.555;
  const tooth1 = x >= 0.66 && x <= 0.73 && y >= 0.555 && y <= 0.68;
  const tooth2 = x >= 0.79 && x <= 0.88 && y >= 0.555 && y <= 0.72;
  return bow || shaft || tooth1 || tooth2;
}

/** Fraction of a pixel the key covers, sampled 8×8 so small sizes keep smooth edges. */
function coverage(px: number, py: number, size: number, inset: number): number {
  const samples = 8;
  let hits = 0;
  for (let sy = 0; sy < samples; sy++) {
    for (let sx = 0; sx < samples; sx++) {
      const x = ((px + (sx + 0.5) / samples) / size - inset) / (1 - 2 * inset);
      const y = ((py + (sy + 0.5) / samples) / size - inset) / (1 - 2 * inset);
      if (inKey(x, y)) hits++;
    }
  }
  return hits / (samples * samples);
}

function hex(colour: string): [number, number, number] {
  const n = Number.parseInt(colour.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** 192×192: the key in white on the accent colour, filling the square as Teams crops it itself. */
export function drawColorIcon(): RgbaImage {
  const size = 192;
  const [r, g, b] = hex(accentColor);
  const pixels = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = coverage(x, y, size, 0.12);
      pixels.set(
        [Math.round(r + (255 - r) * c), Math.round(g + (255 - g) * c), Math.round(b + (255 - b) * c), 255],
        (y * size + x) * 4,
      );
    }
  }
  return { width: size, height: size, pixels };
}

/** 32×32: white, with coverage only in alpha, since Teams requires white on transparent. */
export function drawOutlineIcon(): RgbaImage {
  const size = 32;
  const pixels = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const alpha = Math.round(coverage(x, y, size, 0.02) * 255);
      pixels.set(alpha === 0 ? [0, 0, 0, 0] : [255, 255, 255, alpha], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, pixels };
}

if (require.main === module) {
  const dir = join(process.cwd(), 'appPackage');
  writeFileSync(join(dir, 'color.png'), encodePng(drawColorIcon()));
  writeFileSync(join(dir, 'outline.png'), encodePng(drawOutlineIcon()));
  console.log(`Wrote ${join(dir, 'color.png')} and ${join(dir, 'outline.png')}.`);
}
