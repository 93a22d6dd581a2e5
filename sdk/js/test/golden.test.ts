// The golden frames in protocol/golden/v1 are shared with the C# tests: both must read and write the same bytes.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { equals, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema } from "../src/index.js";

const file = JSON.parse(readFileSync(new URL("../../../protocol/golden/v1/frames.json", import.meta.url), "utf8")) as {
  frames: { name: string; type: "ClientFrame" | "ServerFrame"; json: never; hex: string }[];
};

describe("golden frames", () => {
  it("has frames", () => expect(file.frames.length).toBeGreaterThan(10));
  for (const frame of file.frames) {
    it(`${frame.name}: encodes to and decodes from the golden bytes`, () => {
      const schema = frame.type === "ClientFrame" ? ClientFrameSchema : ServerFrameSchema;
      const fromJsonMessage = fromJson(schema as typeof ClientFrameSchema, frame.json);
      expect(Buffer.from(toBinary(schema as typeof ClientFrameSchema, fromJsonMessage)).toString("hex")).toBe(frame.hex);
      const decoded = fromBinary(schema as typeof ClientFrameSchema, Buffer.from(frame.hex, "hex"));
      expect(equals(schema as typeof ClientFrameSchema, decoded, fromJsonMessage)).toBe(true);
      expect(toJson(schema as typeof ClientFrameSchema, decoded)).toEqual(frame.json);
    });
  }
});
