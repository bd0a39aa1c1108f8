/**
 * Serving certificate and key: read from files (and re-read on change) or
 * generated for --dev. A pair that does not load is a CertificateError naming
 * the file, never a half-configured server.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { describeIoError } from '../policy/load.js';

export const MIN_TLS_VERSION = 'TLSv1.2';

export class CertificateError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'CertificateError';
  }
}

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** When the leaf certificate starts to be valid. */
  readonly notBefore: Date;
  /** When the leaf certificate expires. */
  readonly notAfter: Date;
  readonly fingerprint: string;
}

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: MIN_TLS_VERSION };
}

/**
 * Checks that the PEM texts hold a certificate that has not expired by `now`
 * and the private key that matches it. An expired one would make the API
 * server refuse every call; one not valid yet is taken, as issuers' and
 * nodes' clocks differ by seconds (notYetValid says when it is far ahead).
 */
export function parseTlsMaterial(cert: string, key: string, files: TlsFiles, now = new Date()): TlsMaterial {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new CertificateError(files.certPath, `not a PEM certificate (${message(error)})`);
  }
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) throw new CertificateError(files.certPath, `the certificate expired on ${notAfter.toISOString()}`);
  try {
    const privateKey = createPrivateKey(key);
    if (!leaf.checkPrivateKey(privateKey)) {
      throw new CertificateError(files.keyPath, `the private key does not match the certificate in ${files.certPath}`);
    }
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw new CertificateError(files.keyPath, `not a PEM private key (${message(error)})`);
  }
  try {
    createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
  } catch (error) {
    throw new CertificateError(files.certPath, `cannot be served: ${message(error)}`);
  }
  return { cert, key, notBefore: new Date(leaf.validFrom), notAfter, fingerprint: leaf.fingerprint256 };
}

/** How far ahead a certificate may start before it is worth a warning: issuers' and nodes' clocks differ by seconds. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Why a certificate taken now still fails every call for a while, when it does: one that starts more than
 * CLOCK_SKEW_MS from `now` is refused by the API server until then. Served anyway (the old one may be gone),
 * and said once, at load.
 */
export function notYetValid(material: TlsMaterial, now = new Date()): string | undefined {
  if (material.notBefore.getTime() <= now.getTime() + CLOCK_SKEW_MS) return undefined;
  return `the certificate is not valid until ${material.notBefore.toISOString()}: the API server refuses it until then (a clock is off, or it was issued ahead of time)`;
}

export async function loadTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  // In order, so that a missing pair is reported by its certificate first.
  const cert = await readText(files.certPath);
  const key = await readText(files.keyPath);
  return parseTlsMaterial(cert, key, files);
}

/**
 * A certificate or key file's text, as start and every reload read it. Not held to strict UTF-8 as the policy is:
 * PEM allows any text before and between its blocks (RFC 7468: `openssl pkcs12 -nodes` writes "Bag Attributes"
 * there, in whatever encoding the bundle's names had), and the blocks themselves are ASCII, so what decoding
 * leaves of other bytes never reaches the certificate.
 */
export function readPemFile(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

async function readText(file: string): Promise<string> {
  try {
    return await readPemFile(file);
  } catch (error) {
    throw new CertificateError(file, `cannot read the file: ${describeIoError(error)}`);
  }
}

/** A throwaway self-signed certificate for localhost and 127.0.0.1, for --dev only. */
export async function generateDevMaterial(): Promise<TlsMaterial> {
  // Imported only for --dev: the generator and its X.509 library cost every other server some 16 MiB.
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + 7 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'mountgate-dev' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return parseTlsMaterial(pems.cert, pems.private, { certPath: '<generated --dev certificate>', keyPath: '<generated --dev key>' });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
