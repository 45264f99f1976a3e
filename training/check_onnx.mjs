#!/usr/bin/env node
// Run every exported stage with onnxruntime-node on the reference inputs written by export.py
// and print the max abs difference from PyTorch's outputs as JSON. Exit 1 above tolerance.
//   node training/check_onnx.mjs <codec dir> <check dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [codecDir, checkDir] = process.argv.slice(2);
if (!codecDir || !checkDir) {
  console.error('usage: check_onnx.mjs <codec dir> <check dir>');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(codecDir, 'manifest.json'), 'utf8'));
const reference = JSON.parse(readFileSync(join(checkDir, 'reference.json'), 'utf8'));
const load = (stage, name, dims) => {
  const buf = readFileSync(join(checkDir, `${stage}.${name}.bin`));
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new ort.Tensor('float32', Float32Array.from(data), dims);
};
const result = { maxAbsDiff: {}, maxAbsRef: {} };
let worst = 0;
for (const [stage, io] of Object.entries(reference.stages)) {
  const session = await ort.InferenceSession.create(join(codecDir, manifest.files[stage].path));
  const feeds = {};
  for (const [name, dims] of Object.entries(io.inputs)) feeds[name] = load(stage, name, dims);
  const outputs = await session.run(feeds);
  let diff = 0;
  let mag = 0;
  for (const [name, dims] of Object.entries(io.outputs)) {
    const want = load(stage, name, dims).data;
    const got = outputs[name].data;
    if (got.length !== want.length) throw new Error(`${stage}.${name}: ${got.length} values, expected ${want.length}`);
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      mag = Math.max(mag, Math.abs(want[i]));
    }
  }
  result.maxAbsDiff[stage] = diff;
  result.maxAbsRef[stage] = mag;
  worst = Math.max(worst, diff / Math.max(1, mag));
  await session.release();
}
result.worstRelative = worst;
console.log(JSON.stringify(result));
process.exit(worst < 1e-3 ? 0 : 1);
