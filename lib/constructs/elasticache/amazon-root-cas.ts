import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The CAs ElastiCache's in-transit encryption certificates chain to (Amazon Root CA 1 and 3, and
 * Starfield Services Root G2, which cross-signs them), copied from Debian's ca-certificates
 * (20230311+deb12u1, /usr/share/ca-certificates/mozilla). Published as the `ca-bundle` connection
 * parameter of an ElastiCache stage, so that consumers verify the server exactly as they do on a
 * Fargate stage (whose bundle is the stage's own CA), with no code change. 3.2 KB: an SSM standard
 * parameter holds 4 KB.
 */
export const AMAZON_ROOT_CAS_PEM = readFileSync(path.join(__dirname, 'amazon-root-cas.pem'), 'utf8');
