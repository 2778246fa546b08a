import crypto from 'node:crypto';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';

/**
 * TLS for emulators that SDKs only reach over https (the ACS SDK refuses bearer tokens over plain http): a
 * self-signed certificate for `localhost` / `127.0.0.1`, generated in memory at start and never written down,
 * and a way for this process to trust it for loopback connections only.
 */

export interface LocalCertificate {
  /** PEM. */
  readonly cert: string;
  /** PEM (PKCS #8). Lives only in this process. */
  readonly key: string;
}

export async function generateLocalCertificate(): Promise<LocalCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: crypto.randomBytes(8).toString('hex'),
      name: 'CN=localhost, O=Local emulators',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 30 * 86_400_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    },
    globalThis.crypto,
  );
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { cert: certificate.toString('pem'), key };
}

function canAddCa(native: unknown): native is { addCACert(pem: string): void } {
  return (
    typeof native === 'object' &&
    native !== null &&
    typeof (native as { addCACert?: unknown }).addCACert === 'function'
  );
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);
const trusted = new Set<string>();
let originalCreateSecureContext: typeof tls.createSecureContext | undefined;

/**
 * Makes this process accept `cert` from loopback servers, for clients that bring no CA of their own (the
 * Azure SDKs' https agents): Node 20 has no API to extend the default CA store at run time, so
 * `tls.createSecureContext` adds the certificate when the connection goes to a loopback host. Connections to
 * other hosts keep the default store untouched. Returns the undo.
 */
export function trustLoopbackCertificate(cert: string): () => void {
  trusted.add(cert);
  if (originalCreateSecureContext === undefined) {
    const original = tls.createSecureContext;
    originalCreateSecureContext = original;
    tls.createSecureContext = (options?: tls.SecureContextOptions): tls.SecureContext => {
      const context = original(options);
      // tls.connect hands its whole options object over, host and servername (empty for IPs) included.
      const connect: tls.ConnectionOptions = options ?? {};
      const servername: unknown = connect.servername;
      const host = typeof servername === 'string' && servername !== '' ? servername : connect.host;
      const native: unknown = context.context;
      if (
        connect.ca === undefined &&
        host !== undefined &&
        LOOPBACK_HOSTS.has(host) &&
        canAddCa(native)
      ) {
        for (const pem of trusted) native.addCACert(pem);
      }
      return context;
    };
  }
  return () => {
    trusted.delete(cert);
    if (trusted.size === 0 && originalCreateSecureContext !== undefined) {
      tls.createSecureContext = originalCreateSecureContext;
      originalCreateSecureContext = undefined;
    }
  };
}
