// This machine runs Node 20; the AWS SDK's "Node 22 from 2027" notice on every client is not a test
// result (docs/troubleshooting.md says what it means). Loaded by jest.config.js before each file.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
