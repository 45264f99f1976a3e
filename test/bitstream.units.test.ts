import { describe, expect, it } from 'vitest';
import {
  UNIT_TYPES,
  UNIT_TYPE_TABLE,
  UnitType,
  buildUnitRegistry,
  isOptionalUnitType,
  unitTypeName,
} from '../src/bitstream/units.js';
import { CodecError } from '../src/errors.js';

describe('unit type registry', () => {
  it('holds every built-in type under its id, with the high bit marking optional types', () => {
    expect(UNIT_TYPES.size).toBe(UNIT_TYPE_TABLE.length);
    for (const [name, id] of Object.entries(UnitType)) {
      const entry = UNIT_TYPES.get(id);
      expect(entry?.name).toBe(name);
      expect(entry?.optional).toBe(id >= 0x80);
    }
    expect(UNIT_TYPES.get(UnitType.IMAGE_INFO)?.optional).toBe(false);
  });

  it('names unknown types by their byte', () => {
    expect(unitTypeName(UnitType.Y_STREAM)).toBe('Y_STREAM');
    expect(unitTypeName(0x9a)).toBe('UNKNOWN_0x9a');
    expect(unitTypeName(UnitType.CODING_PARAMS)).toBe('CODING_PARAMS');
    expect(unitTypeName(0x7f)).toBe('UNKNOWN_0x7f');
    expect(isOptionalUnitType(0x9a)).toBe(true);
    expect(isOptionalUnitType(0x7f)).toBe(false);
  });

  it('throws at load time on a duplicate id', () => {
    const table = [
      { id: 0x10, name: 'A', optional: false, description: '' },
      { id: 0x10, name: 'B', optional: false, description: '' },
    ];
    expect(() => buildUnitRegistry(table)).toThrow(CodecError);
    expect(() => buildUnitRegistry(table)).toThrow(/0x10 is registered twice \(A and B\)/);
  });

  it('throws at load time on a duplicate name, a non-byte id or a wrong optional flag', () => {
    expect(() =>
      buildUnitRegistry([
        { id: 0x10, name: 'A', optional: false, description: '' },
        { id: 0x11, name: 'A', optional: false, description: '' },
      ]),
    ).toThrow(/name A is registered twice/);
    expect(() => buildUnitRegistry([{ id: 256, name: 'A', optional: false, description: '' }])).toThrow(/not a byte/);
    expect(() => buildUnitRegistry([{ id: 0x81, name: 'A', optional: false, description: '' }])).toThrow(/optional must be true/);
    expect(() => buildUnitRegistry([{ id: 0x01, name: 'A', optional: true, description: '' }])).toThrow(/optional must be false/);
  });
});
