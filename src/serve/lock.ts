/**
 * The few async coordination tools the server needs: a counting semaphore and a
 * readers/writer lock. No timers, no polling: waiters are resolved in FIFO order.
 */

/** At most `size` holders at a time; the rest wait in arrival order. */
export class Semaphore {
  readonly #waiters: (() => void)[] = [];
  #free: number;

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * Many readers or one writer. A waiting writer holds back new readers, so a re-initialization
 * (init-token) is not starved by a steady stream of requests.
 */
export class RwLock {
  #readers = 0;
  #writing = false;
  readonly #queue: { write: boolean; grant: () => void }[] = [];

  async read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writing || this.#queue.length > 0) {
      await new Promise<void>((grant) => this.#queue.push({ write: false, grant }));
    } else {
      this.#readers++;
    }
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#next();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writing || this.#readers > 0 || this.#queue.length > 0) {
      await new Promise<void>((grant) => this.#queue.push({ write: true, grant }));
    } else {
      this.#writing = true;
    }
    try {
      return await fn();
    } finally {
      this.#writing = false;
      this.#next();
    }
  }

  /** Grants the head of the queue: one writer, or every reader up to the next writer. */
  #next(): void {
    if (this.#writing || this.#readers > 0) return;
    const head = this.#queue[0];
    if (!head) return;
    if (head.write) {
      this.#queue.shift();
      this.#writing = true;
      head.grant();
      return;
    }
    while (this.#queue[0] && !this.#queue[0].write) {
      const reader = this.#queue.shift();
      if (!reader) break;
      this.#readers++;
      reader.grant();
    }
  }
}
