import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands inside the Python package, where the API server's catch-all route serves it
// (outDir is resolved from this folder, web/).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/sextant/web/dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a local `sextant serve` on :8000
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
