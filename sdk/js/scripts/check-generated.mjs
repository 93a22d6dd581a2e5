// Fails when src/gen/ differs from what `npm run generate` would produce from protocol/ (run in CI by the SDK suite).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "parley-gen-"));
try {
  execFileSync("npx", ["buf", "generate", "../../protocol", "--path", "../../protocol/parley", "--template", "buf.gen.yaml", "--output", out], { stdio: "inherit" });
  const dir = "src/gen/parley/v1";
  const fresh = join(out, dir);
  const names = new Set([...readdirSync(dir), ...readdirSync(fresh)]);
  const stale = [...names].filter((n) => {
    try {
      return readFileSync(join(dir, n), "utf8") !== readFileSync(join(fresh, n), "utf8");
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`src/gen is stale (${stale.join(", ")}): run 'npm run generate' in sdk/js and commit the result.`);
    process.exit(1);
  }
  console.log("src/gen matches protocol/");
} finally {
  rmSync(out, { recursive: true, force: true });
}
