/**
 * A private CA and certificates for the local environment (kube-apiserver serving
 * cert, service-account signing key, registry TLS), made with the openssl CLI.
 * Files that already exist are kept, so a restarted environment keeps its CA.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of a CA's files. */
export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Paths of a leaf certificate and its key. */
export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates (or reuses) a self-signed CA in `dir`. */
export function ensureCA(dir: string, commonName = 'trellis-local-ca'): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  const ca = { certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
  if (!existsSync(ca.certFile) || !existsSync(ca.keyFile)) {
    openssl(['req', '-x509', '-new', '-nodes', '-newkey', 'rsa:2048', '-sha256', '-days', '3650',
      '-keyout', ca.keyFile, '-out', ca.certFile, '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  }
  return ca;
}

/** Issues (or reuses) a server certificate `name` for the given IPs and DNS names. */
export function ensureServingCert(dir: string, ca: CertificateAuthority, name: string,
  hosts: { ips?: readonly string[]; dns?: readonly string[] } = { ips: ['127.0.0.1'], dns: ['localhost'] }): KeyPair {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  if (existsSync(pair.certFile) && existsSync(pair.keyFile)) return pair;
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const san = [...(hosts.ips ?? []).map((ip) => `IP:${ip}`), ...(hosts.dns ?? []).map((d) => `DNS:${d}`)].join(',');
  writeFileSync(ext, [`subjectAltName=${san}`, 'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth'].join('\n'));
  openssl(['req', '-new', '-nodes', '-newkey', 'rsa:2048', '-keyout', pair.keyFile, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-sha256', '-days', '3650', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile,
    '-CAcreateserial', '-out', pair.certFile, '-extfile', ext], dir);
  return pair;
}

/** Creates (or reuses) an RSA key pair (PEM private key and public key). */
export function ensureRsaKey(dir: string, name: string): { privateKeyFile: string; publicKeyFile: string } {
  const privateKeyFile = join(dir, `${name}.key`);
  const publicKeyFile = join(dir, `${name}.pub`);
  if (!existsSync(privateKeyFile)) openssl(['genrsa', '-out', privateKeyFile, '2048'], dir);
  if (!existsSync(publicKeyFile)) openssl(['rsa', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile], dir);
  return { privateKeyFile, publicKeyFile };
}
