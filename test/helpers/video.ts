/** Shared pieces of the video tests: a generated clip, ffprobe's view, audio packet hashes. */
import { execFileSync } from 'node:child_process';

export interface ProbeJson {
  streams: Record<string, string | number>[];
  format: Record<string, string>;
}

/**
 * Writes a 1 s, 10 fps, 64x48 test pattern with a 440 Hz sine (AAC) to `path`, made by
 * ffmpeg itself so the tests need no clip on disk.
 */
export function makeTestClip(ffmpeg: string, path: string, options: { sampleRate?: number; videoCodec?: string } = {}): void {
  const sine = options.sampleRate ? `sine=frequency=440:sample_rate=${options.sampleRate}` : 'sine=frequency=440';
  const codec = options.videoCodec ? ['-c:v', options.videoCodec] : [];
  execFileSync(ffmpeg, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10',
    '-f', 'lavfi', '-i', sine,
    '-t', '1', ...codec, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path,
  ]);
}

/** ffprobe's streams (with packet counts) and format of a file. */
export function probeJson(ffprobe: string, path: string): ProbeJson {
  return JSON.parse(
    execFileSync(ffprobe, ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-of', 'json', path], { encoding: 'utf8' }),
  ) as ProbeJson;
}

/** Per-packet `size md5` of a file's audio as ffmpeg copies it out: equal lists mean bit-identical audio. */
export function audioPacketHashes(ffmpeg: string, path: string): string[] {
  return execFileSync(ffmpeg, ['-v', 'error', '-i', path, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').map((s) => s.trim()))
    .map((c) => `${c[4]} ${c[5]}`);
}
