import { ErrorCode } from "./gen/parley/v1/parley_pb.js";
import type { Error as ErrorFrame } from "./gen/parley/v1/parley_pb.js";

/** A failure reported by the server (an Error frame) or a refused or terminated session. */
export class ParleyError extends Error {
  override readonly name = "ParleyError";

  constructor(
    /** The server's error code (`ErrorCode.UNSPECIFIED` when the failure is local). */
    readonly code: ErrorCode,
    message: string,
    /** How long the server asked the client to wait before retrying, when it said so. */
    readonly retryAfterMs?: number,
    /** The WebSocket close code when the failure is a closed session (see docs/protocol.md). */
    readonly closeCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The code's name, e.g. `"NOT_MEMBER"`. */
  get codeName(): string {
    return ErrorCode[this.code] ?? String(this.code);
  }

  /**
   * True for codes the server documents as safe to retry: INTERNAL, UNAVAILABLE, and RATE_LIMITED (after
   * `retryAfterMs`).
   */
  get isTransient(): boolean {
    return this.code === ErrorCode.INTERNAL || this.code === ErrorCode.UNAVAILABLE || this.code === ErrorCode.RATE_LIMITED;
  }

  static fromFrame(error: ErrorFrame): ParleyError {
    const name = ErrorCode[error.code] ?? String(error.code);
    return new ParleyError(error.code, error.message || name, error.retryAfterMs > 0 ? error.retryAfterMs : undefined);
  }
}

/** A request got no result in time, or a send was not acknowledged within `sendTimeoutMs`. */
export class ParleyTimeoutError extends Error {
  override readonly name = "ParleyTimeoutError";
}

/** The client was closed. */
export class ParleyClosedError extends Error {
  override readonly name = "ParleyClosedError";
  constructor() {
    super("The Parley client was closed.");
  }
}

/** The session ended while a request was in flight (internal: sends retry, other requests fail with UNAVAILABLE). */
export class ConnectionLostError extends Error {
  override readonly name = "ConnectionLostError";
}

/** WebSocket close codes used by the server (docs/protocol.md). */
export const CloseCodes = {
  GoingAway: 1001,
  /** The server drained for a restart after answering every request it read: reconnect at once. */
  ServiceRestart: 1012,
  MessageTooBig: 1009,
  Kicked: 4001,
  TokenInvalid: 4002,
  HandshakeFailed: 4003,
  HandshakeTimeout: 4004,
  OutboxOverflow: 4008,
  ProtocolError: 4009,
  IdleTimeout: 4010,
  /** Hello's resume cursor is ahead of the server's feed (its data was restored or replaced): resync from 0. */
  CursorAhead: 4011,
  /** Live events were missed (a cluster node died before forwarding them): reconnect at once; the resume has them. */
  Resync: 4012,
  /** True when the client must not reconnect with the same credentials. */
  isTerminal(code: number | undefined): boolean {
    return code === 4001 || code === 4002 || code === 4003;
  },
} as const;
