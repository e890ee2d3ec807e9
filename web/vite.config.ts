import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The API serves the built files at /console/ (src/Api/Hosting/WebConsoleSetup.cs).
// `npm run dev` proxies the API calls to a running API (./run.sh), COUPONBOOKS_API to override.
const api = process.env.COUPONBOOKS_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No data: URLs, so a strict Content-Security-Policy (img-src 'self') still shows everything.
    assetsInlineLimit: 0,
    // The build is a few seconds on a shared machine; its plugin-timing report is noise in ./test.sh's output.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  server: {
    proxy: { '/api': api, '/health': api },
  },
})
