export { Crc64, crc64, trailerHex } from './crc64';
export {
  ALLOW_NO_CHECKSUM_FLAG,
  MAX_RDB_VERSION,
  MIN_RDB_VERSION,
  type RdbVerification,
  RdbVerificationError,
  RdbVerifier,
  type RdbVerifierOptions,
  verifyRdbFile,
} from './verifier';
