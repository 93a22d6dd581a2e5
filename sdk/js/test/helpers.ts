import WebSocket from "ws";
import { ParleyClient, type ParleyClientOptions, type Message, type WebSocketConstructor } from "../src/index.js";
import type { TestServer } from "./server.js";

/** Awaits a condition (polled every 20 ms) or fails with the message after the timeout. */
export async function until(condition: () => boolean, message: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function textOf(message: Message): string | undefined {
  return message.content?.body.case === "text" ? message.content.body.value.text : undefined;
}

/** A connected client for a fresh user (created through the admin API), recording every message it receives. */
export async function connectUser(server: TestServer, userId: string, options: Partial<ParleyClientOptions> = {}) {
  await server.createUser(userId);
  const deviceId = options.deviceId ?? `${userId}-node`;
  const token = await server.issueToken(userId, deviceId, "linux");
  const received: Message[] = [];
  const client = new ParleyClient({
    url: server.wsUrl,
    token,
    deviceId,
    webSocket: WebSocket as unknown as WebSocketConstructor,
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: 1000,
    ...options,
  });
  client.on("message", ({ message }) => received.push(message));
  await client.connect();
  return { client, received, token, deviceId };
}
