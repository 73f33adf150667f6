export {
  openRdbStream,
  type RdbFraming,
  RdbStream,
  type RdbStreamOptions,
  ReplicationError,
} from './rdb-stream';
