import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// The SDK is consumed from source (sdk/js/src) so the client builds from one lockfile; its one runtime dependency,
// @bufbuild/protobuf, resolves from this package's node_modules.
export default defineConfig({
  base: "/",
  resolve: {
    alias: { "@parley/client": fileURLToPath(new URL("../../sdk/js/src/index.ts", import.meta.url)) },
    dedupe: ["@bufbuild/protobuf"],
  },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    // `npm run dev` against a server on 5080: the WebSocket and the sign-in API are proxied.
    proxy: { "/ws": { target: "ws://127.0.0.1:5080", ws: true }, "/api": "http://127.0.0.1:5080" },
  },
});
