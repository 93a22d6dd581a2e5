// Cursor logic against a server that sends at most 5 messages per conversation in a resume sync: the SDK must pull the
// gap of a conversation it already knows with history pages and raise everything once, in seq order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryClientState } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, textOf, until } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start({ env: { Parley__Gateway__SyncMessagesPerConversation: "5" } });
}, 120_000);
afterAll(async () => {
  await server?.dispose();
});

describe("resume sync", () => {
  it("back-fills a truncated sync of a known conversation: every message once, in order", async () => {
    const state = new MemoryClientState();
    const alice = await connectUser(server, "gap-alice");
    const bob = await connectUser(server, "gap-bob", { state });
    const first = await alice.client.sendText({ userId: "gap-bob" }, "m1");
    await until(() => bob.received.length === 1, "bob receives m1");
    await bob.client.close();
    const cursorAfterFirst = state.cursor;
    expect(cursorAfterFirst).toBeGreaterThan(0n);
    expect(state.getMaxSeq(first.conversationId)).toBe(1n);

    for (let i = 2; i <= 13; i++) await alice.client.sendText({ conversationId: first.conversationId }, `m${i}`);

    const syncs: { fromSync: boolean; seq: bigint }[] = [];
    const again = await connectUser(server, "gap-bob", { state });
    again.client.on("message", ({ message, fromSync }) => syncs.push({ fromSync, seq: message.seq }));
    try {
      // connect() resolved after the sync: the gap (m2..m8) and the synced newest five (m9..m13) were raised.
      expect(again.received.map(textOf)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i + 2}`));
      expect(state.getMaxSeq(first.conversationId)).toBe(13n);
      expect(state.cursor).toBeGreaterThan(cursorAfterFirst);
      await alice.client.sendText({ conversationId: first.conversationId }, "m14");
      await until(() => again.received.length === 13, "bob receives m14 live");
      expect(syncs.at(-1)).toEqual({ fromSync: false, seq: 14n });
    } finally {
      await alice.client.close();
      await again.client.close();
    }
  }, 120_000);
});
