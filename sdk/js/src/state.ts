/**
 * The client's local sync state: the resume cursor and the highest seq raised per conversation. The client reads and
 * writes it synchronously from its single dispatch queue; a persistent implementation keeps a copy in memory and
 * writes through in the background (see {@link IndexedDbClientState} and, for Node, `FileClientState` in
 * `@parley/client/node`).
 */
export interface ClientState {
  /** The feed version the application has fully processed; sent as `Hello.resume_cursor`. 0n = no local state. */
  cursor: bigint;
  /** The highest seq raised for a conversation, or 0n when unknown. */
  getMaxSeq(conversationId: string): bigint;
  setMaxSeq(conversationId: string, seq: bigint): void;
  /**
   * Forgets everything (cursor 0n, every conversation unknown). The client calls it when the server answers Hello with
   * `CURSOR_AHEAD` (its data was restored or replaced), then resyncs from 0.
   */
  reset(): void;
}

/** Serialisable form of a {@link ClientState}, shared by the persistent implementations. */
export interface ClientStateSnapshot {
  cursor: string;
  maxSeq: Record<string, string>;
}

/** The default, process-lifetime state. */
export class MemoryClientState implements ClientState {
  #cursor = 0n;
  protected readonly maxSeq = new Map<string, bigint>();

  get cursor(): bigint {
    return this.#cursor;
  }

  set cursor(value: bigint) {
    this.#cursor = value;
    this.changed();
  }

  getMaxSeq(conversationId: string): bigint {
    return this.maxSeq.get(conversationId) ?? 0n;
  }

  setMaxSeq(conversationId: string, seq: bigint): void {
    this.maxSeq.set(conversationId, seq);
    this.changed();
  }

  reset(): void {
    this.#cursor = 0n;
    this.maxSeq.clear();
    this.changed();
  }

  /** Called after every change. */
  protected changed(): void {}

  /** A copy for storage. */
  snapshot(): ClientStateSnapshot {
    const maxSeq: Record<string, string> = {};
    for (const [id, seq] of this.maxSeq) maxSeq[id] = seq.toString();
    return { cursor: this.cursor.toString(), maxSeq };
  }

  /** Replaces the state with a stored copy (ignores malformed entries). */
  restore(snapshot: Partial<ClientStateSnapshot> | undefined): void {
    this.maxSeq.clear();
    this.#cursor = parseBig(snapshot?.cursor);
    for (const [id, seq] of Object.entries(snapshot?.maxSeq ?? {})) {
      const value = parseBig(seq);
      if (value > 0n) this.maxSeq.set(id, value);
    }
  }
}

function parseBig(value: unknown): bigint {
  if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) return 0n;
  return BigInt(value);
}

/**
 * A {@link MemoryClientState} that writes itself through to storage shortly after each change (coalesced), so a
 * restarted app resumes from where it stopped. Subclasses implement {@link write}.
 */
export abstract class WriteThroughClientState extends MemoryClientState {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();

  protected constructor(private readonly delayMs: number) {
    super();
  }


  /** Writes pending changes now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const snapshot = this.snapshot();
    this.#writing = this.#writing.then(() => this.write(snapshot)).catch(() => undefined);
    return this.#writing;
  }

  protected abstract write(snapshot: ClientStateSnapshot): Promise<void>;

  protected override changed(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.delayMs);
    }
  }
}

/**
 * Browser persistence in IndexedDB: one record per key (use one key per user and device). Open it before creating the
 * client: `const state = await IndexedDbClientState.open("alice/laptop")`.
 */
export class IndexedDbClientState extends WriteThroughClientState {
  private constructor(private readonly db: IDBDatabase, private readonly key: string, delayMs: number) {
    super(delayMs);
  }

  static async open(key: string, options: { databaseName?: string; delayMs?: number } = {}): Promise<IndexedDbClientState> {
    const indexedDb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!indexedDb) throw new Error("IndexedDB is not available here; use MemoryClientState (or FileClientState in Node).");
    const db = await request<IDBDatabase>(() => {
      const open = indexedDb.open(options.databaseName ?? "parley-client", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("state");
      return open;
    });
    const state = new IndexedDbClientState(db, key, options.delayMs ?? 100);
    const stored = await request<ClientStateSnapshot | undefined>(() => db.transaction("state", "readonly").objectStore("state").get(key));
    state.restore(stored);
    return state;
  }

  /** Forgets the stored state (e.g. on sign-out). */
  async clear(): Promise<void> {
    this.restore(undefined);
    await request(() => this.db.transaction("state", "readwrite").objectStore("state").delete(this.key));
  }

  protected async write(snapshot: ClientStateSnapshot): Promise<void> {
    await request(() => this.db.transaction("state", "readwrite").objectStore("state").put(snapshot, this.key));
  }
}

function request<T>(start: () => IDBRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const r = start();
    r.onsuccess = () => resolve(r.result as T);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}
