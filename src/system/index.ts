// Operating-system helpers with no domain in them, shared by odoo/, postgres/, runtimes/, templates/.
export { type CommandOutput, type RunAs, type RunOptions, runCommand } from './commands.js';
export { freePort } from './ports.js';
export { processExists } from './processes.js';
