/**
 * Turning option strings into the values the library checks. Numbers are converted only
 * when they look like numbers; anything else is passed on as the string it is, so the
 * library's sharp-style message says what was received
 * (`Expected number between 1 and 100 for quality but received abc of type string`).
 */
import { invalidOption } from '../errors.js';
import type { OptionValues } from './args.js';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** The option's value as a number when it looks like one, else the raw string, else undefined. */
export function numberOption(options: OptionValues, name: string): number | undefined {
  const value = options[name];
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return (NUMBER.test(text) ? Number(text) : value) as number;
}

/**
 * An integer option within bounds.
 * @throws InvalidOptionError otherwise, named `label`.
 */
export function integerOption(options: OptionValues, name: string, label: string, min: number, max: number): number | undefined {
  const value = numberOption(options, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(`integer between ${min} and ${max}`, label, value);
  }
  return value;
}

/** A string option, or undefined. */
export function stringOption(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}
