#!/usr/bin/env node
// Node 20 is supported but past end of life: `run` logs one line about it instead of the AWS SDK's banner.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');
process.exit(await main(process.argv));
