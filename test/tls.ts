/** A throwaway self-signed certificate for 127.0.0.1, made with openssl at test time (never committed). */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Cert {
  /** Paths of the PEM files (server entries in other runtimes read these). */
  readonly certFile: string;
  readonly keyFile: string;
  /** The PEM text: the server's certificate doubles as the client's only trusted CA. */
  readonly cert: string;
  readonly key: string;
  remove(): void;
}

export function makeCert(): Cert {
  if (!Bun.which("openssl")) throw new Error("openssl is needed for the TLS tests (Debian: apt-get install openssl)");
  const dir = mkdtempSync(join(tmpdir(), "wirehub-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const r = Bun.spawnSync([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return {
    certFile,
    keyFile,
    cert: readFileSync(certFile, "utf8"),
    key: readFileSync(keyFile, "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
