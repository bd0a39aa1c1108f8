/**
 * The part of autocannon 8 the benchmark uses. The package ships no types, and
 * a few lines here are cheaper to keep right than another dependency.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonRequest {
    readonly method?: string;
    readonly path?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string | Buffer;
  }

  export interface AutocannonOptions {
    readonly url: string;
    readonly connections?: number;
    readonly pipelining?: number;
    /** Seconds. */
    readonly duration?: number;
    /** Total requests; when set, duration is ignored. */
    readonly amount?: number;
    /** Seconds before a request counts as timed out. */
    readonly timeout?: number;
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string | Buffer;
    readonly requests?: readonly AutocannonRequest[];
    readonly tlsOptions?: Readonly<Record<string, unknown>>;
    readonly verifyBody?: (body: string) => boolean;
    readonly overallRate?: number;
    readonly reconnectRate?: number;
  }

  export interface AutocannonResult {
    readonly errors: number;
    readonly timeouts: number;
    readonly mismatches: number;
    readonly non2xx: number;
    readonly '2xx': number;
    /** Seconds. */
    readonly duration: number;
  }

  export interface AutocannonInstance extends EventEmitter {
    stop(): void;
  }

  type Callback = (error: Error | null, result: AutocannonResult) => void;

  function autocannon(options: AutocannonOptions, callback: Callback): AutocannonInstance;
  export default autocannon;
}
