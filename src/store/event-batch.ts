/**
 * Group commit for live events. A PBX posts one event per request, and a
 * request that waits for a commit of its own spends most of its time in that
 * commit (a WAL sync on SQLite, a round trip and a flush on PostgreSQL). So
 * requests that come in while a batch is being written wait in a queue, and
 * the next batch writes all of them in one transaction.
 *
 * Each queue writes one batch at a time, in the order its requests came in,
 * and answers each request only once the batch holding it is committed. A
 * batch that fails is written again one request at a time, each in a
 * transaction of its own, so that one bad request cannot fail the others.
 * When nothing waits, a request is written at once, alone: a quiet server
 * adds no delay.
 */
export class EventBatches<J, R> {
  private readonly queues: Array<{ waiting: Array<Waiting<J, R>>; busy: boolean }>;

  constructor(
    queues: number,
    private readonly write: {
      /** Writes every job in one transaction; the results in the jobs' order. */
      batch(jobs: J[]): Promise<R[]>;
      /** Writes one job in a transaction of its own. */
      one(job: J): Promise<R>;
    },
    /** At most this many requests in one transaction, so that one batch does not hold the writer for long. */
    private readonly maxBatch = 200,
  ) {
    this.queues = Array.from({ length: queues }, () => ({ waiting: [], busy: false }));
  }

  /**
   * Queues a job on the queue `key` names (jobs of one key keep their order)
   * and resolves once it is committed.
   */
  submit(key: string, job: J): Promise<R> {
    const queue = this.queues[this.queues.length === 1 ? 0 : queueOf(key, this.queues.length)]!;
    return new Promise<R>((resolve, reject) => {
      queue.waiting.push({ job, resolve, reject });
      if (queue.busy) return;
      // Started after the requests already read in this turn of the event loop
      // have been queued too: SQLite writes without yielding, so without this
      // turn no request would ever find another waiting.
      queue.busy = true;
      setImmediate(() => void this.drain(queue));
    });
  }

  private async drain(queue: { waiting: Array<Waiting<J, R>>; busy: boolean }): Promise<void> {
    try {
      while (queue.waiting.length) {
        const batch = queue.waiting.splice(0, this.maxBatch);
        if (batch.length === 1) {
          await this.alone(batch[0]!);
          continue;
        }
        let results: R[];
        try {
          results = await this.write.batch(batch.map((w) => w.job));
        } catch {
          for (const waiting of batch) await this.alone(waiting);
          continue;
        }
        batch.forEach((w, i) => w.resolve(results[i]!));
      }
    } finally {
      queue.busy = false;
    }
  }

  private async alone(waiting: Waiting<J, R>): Promise<void> {
    try {
      waiting.resolve(await this.write.one(waiting.job));
    } catch (error) {
      waiting.reject(error);
    }
  }
}

interface Waiting<J, R> {
  job: J;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** A stable queue number for a key (FNV-1a), so that one call's events always meet in the same queue. */
function queueOf(key: string, queues: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % queues;
}
