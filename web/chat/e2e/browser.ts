// Chromium from the system (Debian's `chromium`, installed by .ci/setup.d/40-chromium.sh): no browser download.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const require = createRequire(import.meta.url);
export const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

export function chromiumPath(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

/** Runs axe-core in the page; returns the serious and critical violations (id: help, nodes). */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: readFileSync(require.resolve("axe-core/axe.min.js"), "utf8") });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

/** Screenshots go to the CI artifacts; with UPDATE_SCREENSHOTS=1 also to docs/images (committed, shown in docs/web.md). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const artifacts = process.env.PARLEY_WEB_ARTIFACTS ?? join(repoRoot, "artifacts/web");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    mkdirSync(join(repoRoot, "docs/images"), { recursive: true });
    await page.screenshot({ path: join(repoRoot, "docs/images", `web-${name}.png`) });
  }
}
