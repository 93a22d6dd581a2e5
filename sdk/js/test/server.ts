// Starts the real Parley server (the built Parley.Server.dll) on free ports with a temporary data directory and a
// random admin secret, for the SDK tests and the browser tests. Set PARLEY_SERVER_DLL to use another build.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

export function serverDll(): string {
  const dll = process.env.PARLEY_SERVER_DLL ?? join(repoRoot, "src/Parley.Server/bin/Release/net10.0/Parley.Server.dll");
  if (!existsSync(dll)) throw new Error(`${dll} not found: build it first (dotnet build src/Parley.Server -c Release).`);
  return dll;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface TestServerOptions {
  /** Extra configuration, as environment variables (e.g. { Parley__DevSignIn__Enabled: "true" }). */
  env?: Record<string, string>;
}

export class TestServer {
  readonly adminSecret = randomBytes(32).toString("hex");
  readonly dataDir = mkdtempSync(join(tmpdir(), "parley-test-"));
  port = 0;
  #siloPort = 0;
  #gatewayPort = 0;
  #process: ChildProcess | undefined;
  #log: string[] = [];

  private constructor(private readonly options: TestServerOptions) {}

  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    const server = new TestServer(options);
    server.port = await freePort();
    server.#siloPort = await freePort();
    server.#gatewayPort = await freePort();
    try {
      await server.#launch();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The last lines the server wrote (for failure messages). */
  get log(): string {
    return this.#log.slice(-60).join("");
  }

  async #launch(): Promise<void> {
    const child = spawn("dotnet", [serverDll()], {
      env: {
        ...process.env,
        ASPNETCORE_ENVIRONMENT: "Development",
        DOTNET_ENVIRONMENT: "Development",
        Urls: this.httpUrl,
        Parley__Admin__Secret: this.adminSecret,
        Parley__Storage__DataDirectory: this.dataDir,
        Parley__Orleans__SiloPort: String(this.#siloPort),
        Parley__Orleans__GatewayPort: String(this.#gatewayPort),
        Parley__Orleans__ClusterId: `test-${this.port}`,
        ...this.options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#process = child;
    const keep = (chunk: Buffer) => {
      this.#log.push(chunk.toString());
      if (this.#log.length > 400) this.#log.splice(0, 200);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`The server exited with ${child.exitCode}:\n${this.log}`);
      try {
        const response = await fetch(`${this.httpUrl}/readyz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`The server was not ready within 90 s:\n${this.log}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 15 s). */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops and starts the server on the same port and data directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch();
  }

  /** Stops the server and deletes its data. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminSecret}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async createUser(userId: string, nickname = userId): Promise<void> {
    const response = await this.admin("POST", "/admin/v1/users", { userId, nickname });
    if (response.status !== 201 && response.status !== 409) throw new Error(`create user ${userId}: ${response.status} ${await response.text()}`);
  }

  async issueToken(userId: string, deviceId: string, platform = "web"): Promise<string> {
    const response = await this.admin("POST", `/admin/v1/users/${encodeURIComponent(userId)}/tokens`, { deviceId, platform });
    if (!response.ok) throw new Error(`issue token ${userId}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  }
}
