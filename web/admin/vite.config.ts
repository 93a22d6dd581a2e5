import { defineConfig } from "vite";

// Served by the server at /admin (see src/Parley.Server/Parley.Server.csproj, ParleySpa items).
export default defineConfig({
  base: "/admin/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    // `npm run dev` against a server on 5080: the admin API is proxied.
    proxy: { "/admin/v1": "http://127.0.0.1:5080" },
  },
});
