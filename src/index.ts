export { defineConfig } from './config/define.js';
export type { ZddConfigInput as Config, ZddConfig } from './config/schema.js';
