/** The TLS edge in front of the platform: configuration it can be run with (Caddy). */
export { type CaddyfileOptions, renderCaddyfile } from './caddyfile.js';
