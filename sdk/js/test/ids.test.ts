import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directConversationId, directPeer, isValidId, parseDirectConversationId } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, textOf, until } from "./helpers.js";

describe("conversation ids (ADR 0010)", () => {
  it("are OpenIM's si_{min}_{max} for plain ids, whichever order the users are given in", () => {
    expect(directConversationId("bob", "alice")).toBe("si_alice_bob");
    expect(directConversationId("alice", "bob")).toBe("si_alice_bob");
    // Ordinal order of the raw ids: upper case sorts before lower case, digits before letters.
    expect(directConversationId("b", "B")).toBe("si_B_b");
    expect(directConversationId("a2", "a10")).toBe("si_a10_a2");
  });

  it("escape ':' and '_' so that no two pairs share an id", () => {
    expect(directConversationId("x", "y_z")).toBe("si_x_y:_z");
    expect(directConversationId("x_y", "z")).toBe("si_x:_y_z");
    expect(directConversationId("a:b", "c")).toBe("si_a::b_c");
    expect(directConversationId("x", "y_z")).not.toBe(directConversationId("x_y", "z"));
  });

  it("parse back to the two users in id order and name the peer", () => {
    for (const [a, b] of [["alice", "bob"], ["x", "y_z"], ["x_y", "z"], ["a:b", "a:_"], ["u@corp.example", "v-1.2"]]) {
      const id = directConversationId(a, b);
      expect(parseDirectConversationId(id)).toEqual(a <= b ? [a, b] : [b, a]);
      expect(directPeer(id, a)).toBe(b);
      expect(directPeer(id, b)).toBe(a);
      expect(directPeer(id, "mallory")).toBeUndefined();
    }
  });

  it("reject group ids and malformed ids", () => {
    for (const id of ["sg_team", "si_", "si_alice", "si_a_b_c", "si_a:x_b", "si_a_b:", "si_bob_alice", "si__bob", "x_a_b", `si_${"a".repeat(65)}_b`]) {
      expect(parseDirectConversationId(id), id).toBeUndefined();
    }
    expect(isValidId("a".repeat(64))).toBe(true);
    expect(isValidId("a".repeat(65))).toBe(false);
    expect(isValidId("")).toBe(false);
    expect(isValidId("a b")).toBe(false);
  });
});

describe("conversation ids against the real server", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start();
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
  });

  it("match the id the server gives a 1:1 conversation between users whose ids hold ':' and '_'", async () => {
    const alice = await connectUser(server, "ids:alice_1");
    const bob = await connectUser(server, "ids_bob");
    try {
      const ack = await alice.client.sendText({ userId: "ids_bob" }, "hi");
      expect(ack.conversationId).toBe(directConversationId("ids:alice_1", "ids_bob"));
      expect(directPeer(ack.conversationId, "ids_bob")).toBe("ids:alice_1");
      // Addressing the conversation by the computed id reaches the same conversation.
      await bob.client.sendText({ conversationId: directConversationId("ids_bob", "ids:alice_1") }, "hello");
      await until(() => alice.received.some((m) => textOf(m) === "hello" && m.conversationId === ack.conversationId), "alice receives bob's reply in the same conversation");
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  }, 60_000);
});
