import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { backoffDelay, CloseCodes, Direction, ErrorCode, ParleyClient, ParleyError, type ConnectionStateChange, type WebSocketConstructor } from "../src/index.js";
import { FileClientState } from "../src/node/index.js";
import { TestServer } from "./server.js";
import { connectUser, textOf, until } from "./helpers.js";

let server: TestServer;
const stateDir = mkdtempSync(join(tmpdir(), "parley-sdk-state-"));

beforeAll(async () => {
  server = await TestServer.start();
}, 120_000);

afterAll(async () => {
  await server?.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("ParleyClient against the real server", () => {
  it("sends and receives live both ways, with acks, history and read receipts", async () => {
    const alice = await connectUser(server, "live-alice");
    const bob = await connectUser(server, "live-bob");
    try {
      const ack = await alice.client.sendText({ userId: "live-bob" }, "hello bob");
      expect(ack.seq).toBe(1n);
      expect(ack.conversationId).toMatch(/^si_/);
      await until(() => bob.received.some((m) => textOf(m) === "hello bob"), "bob receives alice's message");
      // Bob reads alice's message: alice gets the receipt (a sender has read their own messages already).
      const receipts: bigint[] = [];
      alice.client.on("receipt", (r) => receipts.push(r.readSeq));
      const read = await bob.client.markRead(ack.conversationId, 1n);
      expect(read.readSeq).toBe(1n);
      expect(read.unread).toBe(0n);
      await until(() => receipts.includes(1n), "alice gets bob's read receipt");

      await bob.client.sendText({ conversationId: ack.conversationId }, "hello alice");
      await until(() => alice.received.some((m) => textOf(m) === "hello alice"), "alice receives bob's reply");

      const history = await bob.client.getHistory(ack.conversationId, { direction: Direction.BACKWARD, limit: 10 });
      expect(history.messages.map(textOf)).toEqual(["hello bob", "hello alice"]);
      const conversations = await alice.client.getConversations();
      expect(conversations.conversations.some((c) => c.conversationId === ack.conversationId && c.peerUserId === "live-bob")).toBe(true);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("stores a retried send once: the same clientMsgId returns the original ack marked duplicate", async () => {
    const alice = await connectUser(server, "retry-alice");
    const bob = await connectUser(server, "retry-bob");
    try {
      const first = await alice.client.sendText({ userId: "retry-bob" }, "only once", "fixed-id-1");
      const second = await alice.client.sendText({ userId: "retry-bob" }, "only once", "fixed-id-1");
      expect(second.duplicate).toBe(true);
      expect(second.seq).toBe(first.seq);
      expect(second.serverMsgId).toBe(first.serverMsgId);
      const history = await bob.client.getHistory(first.conversationId);
      expect(history.messages.filter((m) => m.clientMsgId === "fixed-id-1")).toHaveLength(1);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("raises typed errors: revoking someone else's message is refused, typing and revoke reach the peer", async () => {
    const alice = await connectUser(server, "err-alice");
    const bob = await connectUser(server, "err-bob");
    try {
      const typing: boolean[] = [];
      bob.client.on("typing", (t) => typing.push(t.typing));
      const ack = await alice.client.sendText({ userId: "err-bob" }, "to be revoked");
      alice.client.setTyping(ack.conversationId, true);
      await until(() => typing.includes(true), "bob sees alice typing");

      const refused = await bob.client.revoke(ack.conversationId, ack.seq).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ParleyError);
      expect([ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND]).toContain((refused as ParleyError).code);

      const revoked: bigint[] = [];
      bob.client.on("revoked", (r) => revoked.push(r.seq));
      await alice.client.revoke(ack.conversationId, ack.seq);
      await until(() => revoked.includes(ack.seq), "bob is told the message was revoked");
      const history = await bob.client.getHistory(ack.conversationId);
      const tombstone = history.messages.find((m) => m.seq === ack.seq)!;
      expect(tombstone.revoked).toBe(true);
      expect(tombstone.content).toBeUndefined();

      const notMember = await bob.client.sendText({ conversationId: "sg_nonexistent-group" }, "x").catch((e: unknown) => e);
      expect(notMember).toBeInstanceOf(ParleyError);
      expect((notMember as ParleyError).isTransient).toBe(false);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("refuses a bad token with a typed error and does not reconnect", async () => {
    const states: ConnectionStateChange[] = [];
    const client = new ParleyClient({ url: server.wsUrl, token: "not-a-token", deviceId: "d1", webSocket: WebSocket as unknown as WebSocketConstructor });
    client.on("state", (s) => states.push(s));
    const error = await client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyError);
    expect([ErrorCode.UNAUTHENTICATED, ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_REVOKED]).toContain((error as ParleyError).code);
    await until(() => states.some((s) => s.state === "disconnected"), "the client reports disconnected");
    expect(states.some((s) => s.state === "reconnecting")).toBe(false);
    await client.close();
  });

  it("groups: create, invite, members and roles", async () => {
    const owner = await connectUser(server, "grp-owner");
    const member = await connectUser(server, "grp-member");
    await server.createUser("grp-late");
    try {
      const group = await owner.client.createGroup({ name: "Team", memberIds: ["grp-member"] });
      expect(group.conversationId).toBe(`sg_${group.groupId}`);
      await until(() => member.received.some((m) => m.conversationId === group.conversationId), "the member sees the group's creation notice");
      const invited = await owner.client.inviteToGroup(group.groupId, ["grp-late"]);
      expect(invited.added).toEqual(["grp-late"]);
      await owner.client.setMemberRole(group.groupId, "grp-member", 1);
      const members = await member.client.getMembers(group.groupId);
      expect(members.total).toBe(3);
      expect(members.members.find((m) => m.userId === "grp-member")?.role).toBe(1);
      await member.client.sendText({ conversationId: group.conversationId }, "hi team");
      await until(() => owner.received.some((m) => textOf(m) === "hi team"), "the owner receives the group message");
    } finally {
      await owner.client.close();
      await member.client.close();
    }
  });

  it("friends: request, accept, relations delta", async () => {
    const a = await connectUser(server, "fr-a");
    const b = await connectUser(server, "fr-b");
    try {
      const changed: bigint[] = [];
      b.client.on("relationsChanged", (e) => changed.push(e.version));
      await a.client.sendFriendRequest("fr-b", "hi");
      await until(() => changed.length > 0, "b is told its relations changed");
      await b.client.respondFriendRequest("fr-a", true);
      const delta = await a.client.syncRelations(0n);
      expect(delta.friends.map((f) => f.userId)).toContain("fr-b");
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

describe("reconnect, resume and the persisted cursor", () => {
  it("survives a server restart: reconnects, resumes from the cursor, retries a pending send, no loss, no duplicates", async () => {
    const path = join(stateDir, "rs-bob.json");
    const bobState = await FileClientState.open(path);
    const alice = await connectUser(server, "rs-alice");
    const bob = await connectUser(server, "rs-bob", { state: bobState });
    const bobStates: string[] = [];
    const bobCloseCodes: (number | undefined)[] = [];
    bob.client.on("state", (s) => {
      bobStates.push(s.state);
      if (s.state === "reconnecting") bobCloseCodes.push(s.closeCode);
    });
    try {
      const first = await alice.client.sendText({ userId: "rs-bob" }, "before restart");
      await until(() => bob.received.length === 1, "bob receives the first message");
      const conversationId = first.conversationId;

      await server.stop();
      await until(() => bob.client.connectionState === "reconnecting", "bob notices the server is gone");
      // A send issued while the server is down is retried under the same id once the session is back.
      const pending = bob.client.sendText({ conversationId }, "sent while down");
      await server.restart();

      await until(() => bob.client.connectionState === "connected" && alice.client.connectionState === "connected", "both reconnect", 60_000);
      const ack = await pending;
      expect(ack.duplicate).toBe(false);
      for (let i = 0; i < 5; i++) await alice.client.sendText({ conversationId }, `after restart ${i}`);
      await until(() => bob.received.length === 6, "bob receives every message after the restart");
      await until(() => alice.received.some((m) => textOf(m) === "sent while down"), "alice receives bob's retried send");

      const seqs = bob.received.map((m) => m.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(bob.received.map(textOf)).toEqual(["before restart", ...[0, 1, 2, 3, 4].map((i) => `after restart ${i}`)]);
      expect(bobStates).toContain("reconnecting");
      // The server drained on SIGTERM and told the client to reconnect at once (docs/protocol.md, close codes).
      expect(bobCloseCodes).toContain(CloseCodes.ServiceRestart);
      const history = await alice.client.getHistory(conversationId, { limit: 50 });
      expect(history.messages.filter((m) => textOf(m) === "sent while down")).toHaveLength(1);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }

    // The cursor was persisted: a new client with the stored state resumes and gets only what it missed.
    await bobState.flush();
    const stored = JSON.parse(readFileSync(path, "utf8")) as { cursor: string };
    expect(BigInt(stored.cursor)).toBeGreaterThan(0n);
    const alice2 = await connectUser(server, "rs-alice", { deviceId: "rs-alice-2" });
    const conversationId = (await alice2.client.getConversations()).conversations.find((c) => c.peerUserId === "rs-bob")!.conversationId;
    await alice2.client.sendText({ conversationId }, "while bob was away");
    const resumed = await FileClientState.open(path);
    expect(resumed.cursor).toBe(BigInt(stored.cursor));
    const bob2 = await connectUser(server, "rs-bob", { state: resumed });
    try {
      await until(() => bob2.received.length >= 1, "bob's new client receives the missed message");
      expect(bob2.received.map(textOf)).toEqual(["while bob was away"]);
    } finally {
      await alice2.client.close();
      await bob2.client.close();
    }
  }, 180_000);
});

describe("backoff", () => {
  it("uses full jitter under an exponentially growing, capped bound", () => {
    expect(backoffDelay(0, 200, 10_000, () => 1)).toBe(200);
    expect(backoffDelay(3, 200, 10_000, () => 1)).toBe(1600);
    expect(backoffDelay(10, 200, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(5, 200, 10_000, () => 0)).toBe(0);
    expect(backoffDelay(2, 200, 10_000, () => 0.5)).toBe(400);
  });
});
