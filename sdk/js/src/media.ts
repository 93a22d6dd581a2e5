// The client media HTTP API (docs/media.md): checksummed, resumable multipart uploads and range-resumed, verified
// downloads with progress. Mirrors the C# SDK's ParleyClient.Media.cs.
import { ErrorCode } from "./gen/parley/v1/parley_pb.js";
import { ParleyError } from "./errors.js";
import { Sha256, sha256Hex } from "./sha256.js";

/** What an upload is for; selects the server's size limit. The server decides the stored kind from the bytes. */
export type MediaKind = "image" | "voice" | "video" | "file";

export interface MediaThumbnail {
  objectId: string;
  width: number;
  height: number;
  /** A short-lived signed download URL, when the object was fetched with one. */
  url?: string;
}

/** A stored object, as the server measured it (kind and type sniffed from the bytes). */
export interface MediaObject {
  objectId: string;
  kind: MediaKind;
  size: number;
  contentType: string;
  /** The sanitised file name. */
  fileName: string;
  /** SHA-256 of the stored bytes, lowercase hex. */
  sha256: string;
  width: number;
  height: number;
  thumbnail?: MediaThumbnail;
  /** A short-lived signed download URL (only from `getObject`); usable without the token, e.g. as `<img src>`. */
  url?: string;
  /** When `url` stops working (unix ms). */
  expiresAt?: number;
}

/** Progress of an upload or download. */
export interface MediaProgress {
  /** Bytes confirmed so far (stored parts plus, in browsers, the bytes of the part in flight), or bytes received. */
  bytesTransferred: number;
  totalBytes: number;
}

/** The bytes to upload: a Blob/File (browsers, Node 20) or a buffer. */
export type MediaSource = Blob | Uint8Array | ArrayBuffer;

export interface UploadOptions {
  /** Selects the size limit; default from the content type (`image/*` → image) or `file`. */
  kind?: MediaKind;
  /** Display name; default the File's name, else "file". The server keeps a safe last path segment. */
  fileName?: string;
  /** Informational; default the Blob's type. The server sniffs the real type. */
  contentType?: string;
  /** Bytes per part (5 MiB .. 64 MiB); default the server's (8 MiB). */
  partSize?: number;
  onProgress?: (progress: MediaProgress) => void;
  /** Continue this earlier upload (the id from `onUploadStarted`) with the same bytes: only missing parts are sent. */
  resumeUploadId?: string;
  /** Called with the upload id once known (persist it to resume after a crash or reload). */
  onUploadStarted?: (uploadId: string) => void;
  /** Cancels; stored parts stay (resume later, or `abortUpload`, or let it expire). */
  signal?: AbortSignal;
}

export interface DownloadOptions {
  onProgress?: (progress: MediaProgress) => void;
  signal?: AbortSignal;
}

export interface MediaApiOptions {
  /** Base URL of the server's HTTP API, e.g. `https://chat.example.com`. */
  baseUrl: string;
  token: string;
  /** Network failures retried per upload/download (fresh URLs are fetched). */
  retries: number;
  /** How long one API call may wait for a rate limit to allow it. */
  requestTimeoutMs: number;
}

interface PartState {
  partNumber: number;
  size: number;
  stored: boolean;
  sha256?: string | null;
  url?: string | null;
}

interface UploadState {
  uploadId: string;
  state: string;
  size: number;
  partSize: number;
  partCount: number;
  expiresAt: number;
  parts: PartState[];
  objectId?: string | null;
  /** The part URLs are the object store's (presigned S3): each stored part is confirmed with its ETag and SHA-256. */
  direct?: boolean;
}

const KINDS: readonly MediaKind[] = ["image", "voice", "video", "file"];

/** Maps the media API's HTTP refusals to {@link ParleyError}s with the server's code (docs/media.md). */
export async function mediaError(response: Response): Promise<ParleyError> {
  let body: { error?: { code?: string; message?: string; retryAfterMs?: number } } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not a Parley error body (a proxy's page): the status says enough
  }
  const named = body?.error?.code ? (ErrorCode as unknown as Record<string, number>)[body.error.code.toUpperCase()] : undefined;
  const code = named ?? statusCode(response.status);
  let retryAfterMs = body?.error?.retryAfterMs && body.error.retryAfterMs > 0 ? body.error.retryAfterMs : undefined;
  if (retryAfterMs === undefined && code === ErrorCode.RATE_LIMITED) {
    const seconds = Number(response.headers.get("retry-after"));
    if (seconds > 0) retryAfterMs = seconds * 1000;
  }
  return new ParleyError(code, body?.error?.message ?? `HTTP ${response.status}`, retryAfterMs);
}

function statusCode(status: number): ErrorCode {
  switch (status) {
    case 401: return ErrorCode.UNAUTHENTICATED;
    case 403: return ErrorCode.FORBIDDEN;
    case 404: return ErrorCode.NOT_FOUND;
    case 413: return ErrorCode.TOO_LARGE;
    case 429: return ErrorCode.RATE_LIMITED;
    default: return status >= 500 ? ErrorCode.UNAVAILABLE : ErrorCode.BAD_REQUEST;
  }
}

/** Network failures and the server's temporary refusals; an expired signed URL (403) is fixed by fresh URLs. */
function isTransient(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (error instanceof ParleyError) return error.code === ErrorCode.UNAVAILABLE || error.code === ErrorCode.FORBIDDEN || error.code === ErrorCode.INTERNAL;
  return error instanceof TypeError || (error instanceof Error && error.name === "NetworkError");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The number of bytes of a media source. */
export function mediaSize(source: MediaSource): number {
  return source instanceof Blob ? source.size : source.byteLength;
}

function toBlob(source: MediaSource): Blob {
  if (source instanceof Blob) return source;
  return new Blob([(source instanceof Uint8Array ? source : new Uint8Array(source)) as Uint8Array<ArrayBuffer>]);
}

async function readRange(blob: Blob, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** The media calls of one client (its token and server). Use them through {@link ParleyClient}. */
export class MediaApi {
  readonly #options: MediaApiOptions;

  constructor(options: MediaApiOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, "") };
  }

  /**
   * Uploads the bytes in checksummed parts and returns the stored object. A part that fails on the network is retried
   * with fresh URLs up to `retries` times, sending only the parts the server does not have.
   */
  async upload(source: MediaSource, options: UploadOptions = {}): Promise<MediaObject> {
    const blob = toBlob(source);
    const total = blob.size;
    const signal = options.signal;
    if (total <= 0) throw new ParleyError(ErrorCode.BAD_REQUEST, "An upload needs at least one byte.");
    const kind = options.kind ?? (blob.type.startsWith("image/") ? "image" : "file");
    if (!KINDS.includes(kind)) throw new ParleyError(ErrorCode.BAD_REQUEST, `Unknown media kind '${String(kind)}'.`);
    const fileName = options.fileName ?? ((blob as { name?: unknown }).name as string | undefined) ?? "file";
    let state = options.resumeUploadId
      ? await this.#json<UploadState>("GET", `/api/v1/uploads/${encodeURIComponent(options.resumeUploadId)}`, undefined, signal)
      : await this.#json<UploadState>("POST", "/api/v1/uploads", {
          kind,
          fileName,
          size: total,
          contentType: options.contentType ?? (blob.type || undefined),
          partSize: options.partSize,
        }, signal);
    if (state.size !== total) {
      throw new ParleyError(ErrorCode.BAD_REQUEST, `Upload ${state.uploadId} is for ${state.size} bytes, not ${total}.`);
    }
    options.onUploadStarted?.(state.uploadId);
    const report = (bytes: number) => options.onProgress?.({ bytesTransferred: Math.min(bytes, total), totalBytes: total });
    let attempts = 0;
    let fileHash: string | undefined;
    for (;;) {
      // One pass in part order: stored parts are only hashed, missing ones hashed and sent.
      const hash = new Sha256();
      let done = state.parts.filter((p) => p.stored).reduce((sum, p) => sum + p.size, 0);
      report(done);
      try {
        for (const part of [...state.parts].sort((a, b) => a.partNumber - b.partNumber)) {
          signal?.throwIfAborted();
          const offset = (part.partNumber - 1) * state.partSize;
          const bytes = await readRange(blob, offset, offset + part.size);
          hash.update(bytes);
          if (part.stored) continue;
          if (!part.url) throw new ParleyError(ErrorCode.UNAVAILABLE, `The server gave no URL for part ${part.partNumber}.`);
          const partHash = await sha256Hex(bytes);
          const etag = await this.#putPart(part.url, bytes, state.direct ? undefined : partHash, (sent) => report(done + sent), signal);
          if (state.direct) {
            if (!etag) throw new ParleyError(ErrorCode.UNAVAILABLE, "The object store answered no ETag for a part (a browser needs the bucket's CORS to expose ETag).");
            await this.#json("POST", `/api/v1/uploads/${encodeURIComponent(state.uploadId)}/parts/${part.partNumber}/confirm`, { etag, sha256: partHash }, signal);
          }
          done += part.size;
          report(done);
        }
        fileHash = hash.hex();
        break;
      } catch (error) {
        if (!isTransient(error, signal) || ++attempts > this.#options.retries) throw wrapNetwork(error);
        await sleep(100 * attempts, signal);
        state = await this.#json<UploadState>("GET", `/api/v1/uploads/${encodeURIComponent(state.uploadId)}`, undefined, signal);
      }
    }
    return toObject(await this.#json<RawObject>("POST", `/api/v1/uploads/${encodeURIComponent(state.uploadId)}/complete`, { sha256: fileHash }, signal));
  }

  /** Abandons an open upload; its stored parts are deleted. */
  async abortUpload(uploadId: string): Promise<void> {
    await this.#json<void>("DELETE", `/api/v1/uploads/${encodeURIComponent(uploadId)}`, undefined, undefined);
  }

  /** Looks an object up with a fresh short-lived download URL (its owner, or a member of a conversation that holds it). */
  async getObject(objectId: string, signal?: AbortSignal): Promise<MediaObject> {
    return toObject(await this.#json<RawObject>("GET", `/api/v1/objects/${encodeURIComponent(objectId)}`, undefined, signal));
  }

  /**
   * Downloads an object's bytes, resuming with range requests after network failures (fresh URLs when one expired),
   * and checks them against the object's SHA-256.
   */
  async download(objectId: string, options: DownloadOptions = {}): Promise<{ object: MediaObject; bytes: Uint8Array }> {
    const signal = options.signal;
    let object = await this.getObject(objectId, signal);
    const bytes = new Uint8Array(object.size);
    const hash = new Sha256();
    let written = 0;
    let attempts = 0;
    while (written < object.size) {
      try {
        const response = await fetch(object.url!, { headers: written > 0 ? { range: `bytes=${written}-` } : {}, signal });
        if (response.status === 403) {
          if (++attempts > this.#options.retries) throw await mediaError(response);
          object = await this.getObject(objectId, signal);
          continue;
        }
        if (!response.ok) throw await mediaError(response);
        if (written > 0 && response.status !== 206) throw new ParleyError(ErrorCode.INTERNAL, "The server ignored the range of a resumed download.");
        const reader = response.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (written + value.length > object.size) throw new ParleyError(ErrorCode.INTERNAL, `Object ${objectId} is longer than its ${object.size} bytes.`);
          bytes.set(value, written);
          hash.update(value);
          written += value.length;
          options.onProgress?.({ bytesTransferred: written, totalBytes: object.size });
        }
      } catch (error) {
        if (!isTransient(error, signal) || ++attempts > this.#options.retries) throw wrapNetwork(error);
        await sleep(100 * attempts, signal);
      }
    }
    if (hash.hex() !== object.sha256) throw new ParleyError(ErrorCode.INTERNAL, `The downloaded bytes of ${objectId} do not match its SHA-256.`);
    return { object, bytes };
  }

  /** PUTs a part (with its SHA-256 for Parley's own part URLs; none to a presigned S3 URL); resolves with the ETag answered. */
  #putPart(url: string, bytes: Uint8Array<ArrayBuffer>, sha256: string | undefined, onSent: (bytes: number) => void, signal: AbortSignal | undefined): Promise<string | null> {
    const Xhr = (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest;
    if (!Xhr) {
      // Node: fetch has no upload progress; the part counts when stored.
      return fetch(url, { method: "PUT", body: bytes, headers: sha256 ? { "x-parley-sha256": sha256 } : {}, signal }).then(async (response) => {
        if (!response.ok) throw await mediaError(response);
        await response.arrayBuffer();
        return response.headers.get("etag");
      });
    }
    // Browsers: XMLHttpRequest reports the bytes of the part in flight.
    return new Promise<string | null>((resolve, reject) => {
      const xhr = new Xhr();
      const onAbort = () => xhr.abort();
      xhr.open("PUT", url);
      if (sha256) xhr.setRequestHeader("X-Parley-Sha256", sha256);
      xhr.upload.onprogress = (event) => onSent(Math.min(event.loaded, bytes.length - 1));
      xhr.onload = () => {
        signal?.removeEventListener("abort", onAbort);
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("ETag"));
        else void mediaError(new Response(xhr.responseText || null, { status: xhr.status, headers: { "retry-after": xhr.getResponseHeader("retry-after") ?? "" } })).then(reject);
      };
      xhr.onerror = () => {
        signal?.removeEventListener("abort", onAbort);
        reject(new TypeError(`The part upload to ${new URL(url).host} failed on the network.`));
      };
      xhr.onabort = () => reject(signal?.reason ?? new DOMException("Aborted", "AbortError"));
      signal?.addEventListener("abort", onAbort, { once: true });
      xhr.send(bytes);
    });
  }

  async #json<T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    for (;;) {
      let response: Response;
      try {
        // Only API calls carry the token; signed part and download URLs (possibly S3's) must not.
        response = await fetch(this.#options.baseUrl + path, {
          method,
          headers: body === undefined
            ? { authorization: `Bearer ${this.#options.token}` }
            : { authorization: `Bearer ${this.#options.token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (error) {
        throw wrapNetwork(error);
      }
      if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
      const error = await mediaError(response);
      // 429 with a retry-after: nothing was done; ask again once the server's budget allows, within the request timeout.
      if (error.code === ErrorCode.RATE_LIMITED && error.retryAfterMs !== undefined && Date.now() + error.retryAfterMs < deadline) {
        await sleep(error.retryAfterMs, signal);
        continue;
      }
      throw error;
    }
  }
}

/** A network failure reaches the caller as UNAVAILABLE (a transient, typed error); aborts stay aborts. */
function wrapNetwork(error: unknown): unknown {
  if (error instanceof TypeError) return new ParleyError(ErrorCode.UNAVAILABLE, `Network failure: ${error.message}`, undefined, undefined, { cause: error });
  return error;
}

/** The API's object JSON (kind as sent, nulls for missing parts). */
type RawObject = Omit<MediaObject, "kind" | "thumbnail" | "url" | "expiresAt"> & {
  kind: string;
  thumbnail?: MediaThumbnail | null;
  url?: string | null;
  expiresAt?: number | null;
};

function toObject(raw: RawObject): MediaObject {
  const object: MediaObject = {
    objectId: raw.objectId,
    kind: (KINDS as readonly string[]).includes(raw.kind) ? (raw.kind as MediaKind) : "file",
    size: raw.size,
    contentType: raw.contentType,
    fileName: raw.fileName,
    sha256: raw.sha256,
    width: raw.width,
    height: raw.height,
  };
  if (raw.thumbnail) object.thumbnail = { objectId: raw.thumbnail.objectId, width: raw.thumbnail.width, height: raw.thumbnail.height, ...(raw.thumbnail.url ? { url: raw.thumbnail.url } : {}) };
  if (raw.url) object.url = raw.url;
  if (raw.expiresAt) object.expiresAt = raw.expiresAt;
  return object;
}
