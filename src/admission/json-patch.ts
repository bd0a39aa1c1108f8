/** fast-json-patch is CommonJS; Node's ESM loader sees only its default export. */
import jsonPatch from 'fast-json-patch';

export type { Operation } from 'fast-json-patch';
export const { compare, applyPatch } = jsonPatch;
