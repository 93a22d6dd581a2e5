import { readFile, rename, writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { WriteThroughClientState, type ClientStateSnapshot } from "../state.js";

/** Node persistence: a JSON file, replaced atomically (write to a temporary file, then rename). */
export class FileClientState extends WriteThroughClientState {
  private constructor(private readonly path: string, delayMs: number) {
    super(delayMs);
  }

  static async open(path: string, options: { delayMs?: number } = {}): Promise<FileClientState> {
    const state = new FileClientState(path, options.delayMs ?? 100);
    try {
      state.restore(JSON.parse(await readFile(path, "utf8")) as ClientStateSnapshot);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return state;
  }

  protected async write(snapshot: ClientStateSnapshot): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(snapshot), "utf8");
    await rename(temp, this.path);
  }
}
