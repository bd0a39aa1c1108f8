// Loaded into `mountgate serve` by bench/idle-api-connections.ts (node --require): counts the TLS
// connections the process opens (tls.connect, which node:https's agents call for each new
// connection) and writes the count to stderr as "tls-connects N" when the process exits.
// CommonJS, so that the module object it patches is the one node:https reads tls.connect from.
const tls = require('node:tls');
const { writeSync } = require('node:fs');

const connect = tls.connect;
let count = 0;
tls.connect = function (...args) {
  count += 1;
  return connect.apply(this, args);
};
process.on('exit', () => writeSync(2, `tls-connects ${count}\n`));
