/**
 * An S3 endpoint that accepts uploads and keeps nothing: just enough of the S3 API for
 * `@aws-sdk/lib-storage`'s Upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * PutObject, PutObjectTagging, AbortMultipartUpload). It reads every byte and drops it, so a backup
 * measured against it shows the cost of the project's own pipeline (replication stream, CRC64,
 * multipart framing) without an S3 server's disk writes. Args: <port>. Prints "ready".
 */
import { createServer } from 'node:http';

let uploads = 0;
const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const [, bucket = '', ...keyParts] = url.pathname.split('/');
  const key = decodeURIComponent(keyParts.join('/'));
  request.on('data', () => {});
  request.on('end', () => {
    const xml = (body: string) => {
      response.writeHead(200, { 'Content-Type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
    };
    if (request.method === 'POST' && url.searchParams.has('uploads')) {
      uploads++;
      xml(
        `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>upload-${uploads}</UploadId></InitiateMultipartUploadResult>`,
      );
    } else if (request.method === 'POST' && url.searchParams.has('uploadId')) {
      xml(
        `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"discarded"</ETag></CompleteMultipartUploadResult>`,
      );
    } else if (request.method === 'DELETE') {
      response.writeHead(204).end();
    } else {
      // UploadPart, PutObject, PutObjectTagging: accepted and dropped.
      response.writeHead(200, { ETag: '"discarded"' }).end();
    }
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
