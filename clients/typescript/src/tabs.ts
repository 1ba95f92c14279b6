/**
 * Coordination between browser tabs that share one refresh token: a Web Lock serialises
 * refreshes, and a BroadcastChannel hands the new access token to the tabs that waited.
 */

interface LockManagerLike {
  request<T>(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<T>,
  ): Promise<T>;
}

export interface SharedToken {
  accessToken: string;
  /** Milliseconds since the epoch, by the sender's clock. */
  expiresAt: number;
  /** The refresh token the sender spent (absent in cookie mode). */
  spent?: string;
}

export class TabCoordinator {
  private readonly locks: LockManagerLike | null;
  private readonly channel: BroadcastChannel | null;
  private last: SharedToken | null = null;
  private waiters: Array<() => void> = [];
  /** Called with every token another tab publishes. */
  onToken: ((token: SharedToken) => void) | null = null;

  constructor(
    private readonly name: string,
    private readonly lockTimeoutMs: number,
  ) {
    const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
    this.locks = nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : null;
    const Channel = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
    this.channel = Channel ? new Channel(name) : null;
    if (this.channel) {
      this.channel.onmessage = (event: MessageEvent<SharedToken>) => {
        this.last = event.data;
        this.onToken?.(event.data);
        const waiters = this.waiters;
        this.waiters = [];
        waiters.forEach((wake) => wake());
      };
    }
  }

  /**
   * Only in a browser page: elsewhere (Node, say) clients in one process may act for different
   * users, and a shared channel would hand one user's token to another.
   */
  static available(): boolean {
    const g = globalThis as { navigator?: { locks?: unknown }; document?: unknown };
    return !!g.navigator?.locks && typeof g.document !== 'undefined';
  }

  /**
   * Runs `fn` holding the tabs' refresh lock. A lock not granted within the timeout (they have
   * hung in some browsers) is given up and `fn` runs anyway: the server answers a replay of the
   * immediate parent token with the same pair, so an uncoordinated refresh is still safe.
   */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.locks) return fn();
    const abort = new AbortController();
    let granted = false;
    const timer = setTimeout(() => {
      if (!granted) abort.abort();
    }, this.lockTimeoutMs);
    try {
      return await this.locks.request(this.name, { signal: abort.signal }, () => {
        granted = true;
        clearTimeout(timer);
        return fn();
      });
    } catch (e) {
      if (!granted) return fn();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  publish(token: SharedToken): void {
    this.channel?.postMessage(token);
  }

  /** A token another tab published that `usable` accepts, waiting up to `ms` for one. */
  async awaitToken(usable: (t: SharedToken) => boolean, ms: number): Promise<SharedToken | null> {
    const found = () => (this.last && usable(this.last) ? this.last : null);
    if (found() || !this.channel || ms <= 0) return found();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return found();
  }

  close(): void {
    this.channel?.close();
  }
}
