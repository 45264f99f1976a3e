/**
 * Planar conversion: fromPlanar rounds exactly as Math.round(v * 255) (half-way values
 * included) and clamps; toPaddedPlanar repeats edge pixels and spreads grey to three planes.
 */
import { describe, expect, it } from 'vitest';
import { fromPlanar, toPaddedPlanar } from '../src/image/frame.js';
import { rng } from './helpers/rng.js';

describe('planar conversion', () => {
  it('rounds like Math.round(v * 255), half-way values and out-of-range values included', () => {
    const r = rng(5);
    const n = 200_000;
    const data = new Float32Array(3 * n);
    for (let i = 0; i < data.length; i++) data[i] = i % 5 === 0 ? (1 + Math.floor(r() * 509)) / 510 : r() * 1.2 - 0.1;
    const rgb = fromPlanar({ data, width: n, height: 1 }, n, 1, 3);
    const grey = fromPlanar({ data, width: n, height: 1 }, n, 1, 1);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3; k++) {
        const v = data[k * n + i];
        if (rgb.data[3 * i + k] !== (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255))) bad++;
      }
      const m = (data[i] + data[n + i] + data[2 * n + i]) / 3;
      if (grey.data[i] !== (m <= 0 ? 0 : m >= 1 ? 255 : Math.round(m * 255))) bad++;
    }
    expect(bad).toBe(0);
  });

  it('pads by repeating the last row and column, grey spread to three planes', () => {
    const frame = { data: Uint8Array.of(0, 51, 102, 153, 204, 255), width: 3, height: 2, channels: 1 as const };
    const p = toPaddedPlanar(frame, 4);
    expect([p.width, p.height]).toEqual([4, 4]);
    const plane = Array.from(p.data.subarray(0, 16), (v) => Math.round(v * 255));
    expect(plane).toEqual([0, 51, 102, 102, 153, 204, 255, 255, 153, 204, 255, 255, 153, 204, 255, 255]);
    expect(Array.from(p.data.subarray(16, 32))).toEqual(Array.from(p.data.subarray(0, 16)));
    expect(Array.from(p.data.subarray(32, 48))).toEqual(Array.from(p.data.subarray(0, 16)));
    const rgb = toPaddedPlanar({ data: Uint8Array.of(10, 20, 30), width: 1, height: 1, channels: 3 }, 2);
    expect(Array.from(rgb.data, (v) => Math.round(v * 255))).toEqual([10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
  });
});
