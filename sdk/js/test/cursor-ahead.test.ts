// Issue 15 (defect 9): a device whose resume cursor is ahead of the server's feed (the server's data was restored from
// an older backup) is answered CURSOR_AHEAD; the SDK drops its local state, resyncs from 0 and says so.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryClientState, ParleyClient, type WebSocketConstructor } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, until } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start();
}, 120_000);
afterAll(async () => {
  await server?.dispose();
});

describe("resume cursor from the future", () => {
  it("drops the local state, resyncs from 0 and reports fullResync", async () => {
    const bob = await connectUser(server, "ca-bob");
    await server.createUser("ca-alice");
    const first = await bob.client.sendText({ userId: "ca-alice" }, "before the restore");
    await bob.client.sendText({ userId: "ca-alice" }, "second");

    const state = new MemoryClientState();
    state.cursor = 1_000_000_000n;
    state.setMaxSeq(first.conversationId, 50n);
    const token = await server.issueToken("ca-alice", "ca-alice-node", "linux");
    const client = new ParleyClient({ url: server.wsUrl, token, deviceId: "ca-alice-node", state, webSocket: WebSocket as unknown as WebSocketConstructor });
    const received: bigint[] = [];
    const syncs: { cursor: bigint; fullResync: boolean }[] = [];
    client.on("message", ({ message }) => {
      if (message.conversationId === first.conversationId) received.push(message.seq);
    });
    client.on("syncCompleted", (e) => syncs.push({ cursor: e.cursor, fullResync: e.fullResync }));
    await client.connect();

    await until(() => syncs.length === 1 && received.length === 2, "the full resync raised both messages");
    expect(syncs[0].fullResync).toBe(true);
    expect(syncs[0].cursor).toBeLessThan(1_000_000_000n);
    expect(state.cursor).toBe(syncs[0].cursor);
    expect(received).toEqual([1n, 2n]);
    expect(state.getMaxSeq(first.conversationId)).toBe(2n);
    expect(client.connectionState).toBe("connected");
    await client.close();

    // The next session resumes from the new cursor: no second full resync, nothing raised again.
    const again = new ParleyClient({ url: server.wsUrl, token, deviceId: "ca-alice-node", state, webSocket: WebSocket as unknown as WebSocketConstructor });
    const later: boolean[] = [];
    again.on("syncCompleted", (e) => later.push(e.fullResync));
    await again.connect();
    expect(later).toEqual([false]);
    await again.close();
    await bob.client.close();
  });
});
