import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by the platform itself (src/api/static.ts) from web/dist.
// `vite` (dev server) proxies the API to a platform on PLATFORM_URL (default http://localhost:8080)
// and presents the platform's own origin, since cookie-authenticated changes must be same-origin.
const platform = process.env.PLATFORM_URL ?? 'http://localhost:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': {
        target: platform,
        changeOrigin: true,
        configure: (proxy) => proxy.on('proxyReq', (request) => request.setHeader('origin', platform)),
      },
    },
  },
});
