import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

/**
 * The X.509 side of the Redis TLS set-up: a private CA per stage and the server certificate it
 * issues, built with @peculiar/x509 (no hand-written ASN.1) on Node's WebCrypto. ECDSA P-256 keys,
 * ECDSA-SHA256 signatures, private keys as PKCS#8 PEM (what Redis/OpenSSL and Node's tls read).
 * Pure: no AWS, no clock of its own (every function takes `now`).
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** notBefore is this far in the past, so a client whose clock is a little behind accepts a new certificate. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** X.520 upper bound of a common name. */
const MAX_COMMON_NAME_LENGTH = 64;

/** A certificate and its private key, both PEM. The key is a secret: never log or return it. */
export interface KeyPairPem {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface IssueCaOptions {
  readonly commonName: string;
  readonly validDays: number;
  /** @default new Date() */
  readonly now?: Date;
}

export interface IssueServerOptions {
  /** The first one is also the common name. At least one. */
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly validDays: number;
  /** @default new Date() */
  readonly now?: Date;
}

export interface IssuedServerCertificate extends KeyPairPem {
  readonly notAfter: Date;
}

/** What the certificate manager needs to know about a certificate (nothing secret). */
export interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  /** Hexadecimal. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lower case, as in the certificate's subjectAltName. */
  readonly dnsNames: string[];
  /** Canonical text form (IPv6 compressed). */
  readonly ipAddresses: string[];
  readonly isCa: boolean;
}

/** A self-signed CA certificate (CA:true, pathLen 0, keyCertSign + cRLSign) and its new key. */
export async function issueCa(options: IssueCaOptions): Promise<KeyPairPem> {
  requirePositiveDays('validDays', options.validDays);
  if (options.commonName === '' || options.commonName.length > MAX_COMMON_NAME_LENGTH)
    throw new Error(`CA common name must have 1 to ${MAX_COMMON_NAME_LENGTH} characters`);
  const now = options.now ?? new Date();
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [options.commonName] }],
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + options.validDays * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: toPem(certificate), privateKeyPem: await exportPrivateKey(keys) };
}

/**
 * A TLS server certificate signed by `ca`: CN = the first DNS name, subjectAltName = every DNS name
 * and IP address, digitalSignature, serverAuth, CA:false, authority key identifier = the CA's key,
 * a random positive serial, notBefore 5 minutes in the past. Never valid past the CA's own expiry
 * (a client rejects it then anyway), so `notAfter` is the truth.
 */
export async function issueServerCertificate(
  ca: KeyPairPem,
  options: IssueServerOptions,
): Promise<IssuedServerCertificate> {
  requirePositiveDays('validDays', options.validDays);
  const dnsNames = normalizeDnsNames(options.dnsNames);
  const ipAddresses = normalizeIpAddresses(options.ipAddresses ?? []);
  const commonName = dnsNames[0];
  if (commonName === undefined) throw new Error('a server certificate needs at least one DNS name');
  if (commonName.length > MAX_COMMON_NAME_LENGTH)
    throw new Error(
      `the first DNS name (${commonName}) is longer than ${MAX_COMMON_NAME_LENGTH} characters and cannot be the common name; put a shorter name first`,
    );
  const now = options.now ?? new Date();
  const caCertificate = parseCertificate(ca.certificatePem, 'CA certificate');
  const caKey = await importSigningKey(ca.privateKeyPem);
  const keys = await generateKeys();
  const wanted = new Date(now.getTime() + options.validDays * DAY_MS);
  const notAfter = wanted < caCertificate.notAfter ? wanted : caCertificate.notAfter;
  if (notAfter <= now)
    throw new Error(`the CA expired at ${caCertificate.notAfter.toISOString()}: it can issue nothing`);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [commonName] }],
    issuer: caCertificate.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
    ],
  });
  return {
    certificatePem: toPem(certificate),
    privateKeyPem: await exportPrivateKey(keys),
    notAfter: certificate.notAfter,
  };
}

/** The facts of a PEM certificate; throws if it is not one. */
export function certificateFacts(certificatePem: string): CertificateFacts {
  const certificate = parseCertificate(certificatePem, 'certificate');
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value.toLowerCase()),
    ipAddresses: names.filter((name) => name.type === 'ip').map((name) => canonicalIp(name.value)),
    isCa: certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true,
  };
}

/** True when the certificate expires within `renewBeforeDays` of `now` (or has expired). */
export function needsRenewal(certificatePem: string, now: Date, renewBeforeDays: number): boolean {
  return expiresWithin(certificateFacts(certificatePem).notAfter, now, renewBeforeDays);
}

export function expiresWithin(notAfter: Date, now: Date, days: number): boolean {
  return notAfter.getTime() - now.getTime() <= days * DAY_MS;
}

/** True when `certificatePem` names the CA as its issuer and carries a valid signature of the CA's key. */
export async function isIssuedBy(certificatePem: string, caCertificatePem: string): Promise<boolean> {
  const certificate = parseCertificate(certificatePem, 'certificate');
  const ca = parseCertificate(caCertificatePem, 'CA certificate');
  const sameName = Buffer.from(certificate.issuerName.toArrayBuffer()).equals(
    Buffer.from(ca.subjectName.toArrayBuffer()),
  );
  return sameName && (await certificate.verify({ publicKey: ca.publicKey, signatureOnly: true }));
}

/** True when the private key (PKCS#8 or SEC1 PEM) is the one whose public key the certificate holds. */
export function privateKeyMatches(certificatePem: string, privateKeyPem: string): boolean {
  try {
    const certificate = parseCertificate(certificatePem, 'certificate');
    const derived = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
    return derived.equals(Buffer.from(certificate.publicKey.rawData));
  } catch {
    return false;
  }
}

/** DNS names as a certificate compares them: trimmed, lower case, without duplicates, order kept. */
export function normalizeDnsNames(dnsNames: readonly string[]): string[] {
  const result: string[] = [];
  for (const raw of dnsNames) {
    const name = raw.trim().toLowerCase();
    if (!/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(name))
      throw new Error(`not a DNS name: ${JSON.stringify(raw)}`);
    if (!result.includes(name)) result.push(name);
  }
  return result;
}

/** IP addresses in canonical text form, without duplicates; throws on anything else. */
export function normalizeIpAddresses(ipAddresses: readonly string[]): string[] {
  const result: string[] = [];
  for (const raw of ipAddresses) {
    const ip = canonicalIp(raw.trim());
    if (!result.includes(ip)) result.push(ip);
  }
  return result;
}

function canonicalIp(ip: string): string {
  const version = isIP(ip);
  if (version === 4) return ip;
  // The WHATWG URL parser writes an IPv6 address in its one canonical (RFC 5952) form.
  if (version === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** PEM with a final newline, as files and OpenSSL expect. */
function toPem(certificate: x509.X509Certificate): string {
  return `${certificate.toString('pem')}\n`;
}

function parseCertificate(pem: string, what: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (error) {
    throw new Error(`${what} is not a PEM X.509 certificate: ${(error as Error).message}`);
  }
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function exportPrivateKey(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}

/** The CA's key for signing. Accepts PKCS#8 or SEC1 ("EC PRIVATE KEY") PEM of a P-256 key. */
async function importSigningKey(privateKeyPem: string): Promise<webcrypto.CryptoKey> {
  try {
    const pkcs8 = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
    return await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']);
  } catch (error) {
    throw new Error(`the CA private key is not a P-256 private key in PEM: ${(error as Error).message}`);
  }
}

/** 16 random bytes, top bit clear: a positive INTEGER of up to 127 bits (RFC 5280: at most 20 octets). */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function requirePositiveDays(name: string, days: number): void {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`${name} must be a positive number of days`);
}
