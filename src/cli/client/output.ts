import { once } from 'node:events';
import { forTerminal } from '../common.js';

let stdoutWatched = false;

/** Writes and waits when the stream's buffer is full, so that a long list never piles up in memory. */
export async function writeOut(text: string): Promise<void> {
  if (!stdoutWatched) {
    stdoutWatched = true;
    // A reader that stops early (`| head`) has what it wanted: not a failure.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') process.stderr.write(`sipsim: cannot write the output: ${error.message}\n`);
      process.exit(error.code === 'EPIPE' ? 0 : 1);
    });
  }
  if (!process.stdout.write(forTerminal(text))) await once(process.stdout, 'drain');
}
