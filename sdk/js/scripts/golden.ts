// Writes the binary encoding (hex) of every frame in protocol/golden/v1/frames.json from its protobuf JSON form.
// Run after adding a frame: npx tsx scripts/golden.ts. The SDK tests and the C# tests check both directions.
import { readFileSync, writeFileSync } from "node:fs";
import { fromJson, toBinary } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema } from "../src/gen/parley/v1/parley_pb.js";

const path = new URL("../../../protocol/golden/v1/frames.json", import.meta.url);
const file = JSON.parse(readFileSync(path, "utf8")) as { frames: { name: string; type: string; json: unknown; hex?: string }[] };
for (const frame of file.frames) {
  const schema = frame.type === "ClientFrame" ? ClientFrameSchema : ServerFrameSchema;
  frame.hex = Buffer.from(toBinary(schema, fromJson(schema, frame.json as never))).toString("hex");
}
writeFileSync(path, JSON.stringify(file, null, 2) + "\n");
