// training/smoke.sh: a P-frame coded and decoded with a codec folder (its g_a_pred included).
import { readImage } from '../dist/src/image/io.js';
import { LearnedImageCodec } from '../dist/src/codec/image.js';
import { PFrameCoder } from '../dist/src/video/pframe.js';

const [dir, image] = process.argv.slice(2);
const codec = await LearnedImageCodec.load(dir);
const { frame } = await readImage(image);
const ref = (await codec.decode(await codec.encode(frame, { quality: 50 }))).frame;
const moved = { ...ref, data: ref.data.slice() };
moved.data.copyWithin(0, 3 * 2); // the frame moved two pixels
const p = new PFrameCoder(codec);
const { bytes, decoded } = await p.encode(moved, ref, 5000);
const again = await p.decode(bytes, ref);
if (Buffer.compare(Buffer.from(again.data), Buffer.from(decoded.data)) !== 0) throw new Error('P-frame decoded differently from the encoder reconstruction');
console.log(JSON.stringify({ codec: codec.id, predictionStage: p.predictionStage, pFrameBytes: bytes.length }));
await codec.dispose();
