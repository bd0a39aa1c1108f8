// `helm test` check, run with the mountgate image's node: the webhook answers through its Service,
// over TLS verified against the CA that the API server trusts, on /readyz, /mutate and /validate.
'use strict';
const https = require('node:https');
const fs = require('node:fs');
const crypto = require('node:crypto');

const host = process.env.MOUNTGATE_HOST;
const port = Number(process.env.MOUNTGATE_PORT || '443');
const ca = process.env.MOUNTGATE_CA_PEM || fs.readFileSync(process.env.MOUNTGATE_CA_FILE, 'utf8');

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(
      {
        host, port, path, method, ca, servername: host, minVersion: 'TLSv1.2', timeout: 10000,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timeout calling ${method} ${path}`), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(data);
  });
}

function review(uid) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
      requestResource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'mountgate-helm-test',
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:default:mountgate-helm-test' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mountgate-helm-test', namespace: 'default' } },
      dryRun: true,
    },
  };
}

// A Service created moments ago may not route yet (its endpoints and the node's rules follow the Pods'
// readiness by a few seconds): /readyz is asked again for up to this long before the test fails.
const READY_WITHIN_MS = 60000;
const RETRY_EVERY_MS = 2000;
// Not yet routed, not yet resolvable, or not yet answering; a certificate error fails at once.
const NOT_YET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'TIMEOUT']);

async function readyz() {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    let problem;
    try {
      const ready = await call('GET', '/readyz');
      if (ready.status === 200) return;
      problem = `answered ${ready.status}: ${ready.text}`;
    } catch (err) {
      if (!err || !NOT_YET.has(err.code)) throw err;
      problem = err.message;
    }
    if (Date.now() + RETRY_EVERY_MS > deadline) throw new Error(`GET /readyz ${problem} (for ${READY_WITHIN_MS / 1000} s)`);
    console.log(`GET https://${host}:${port}/readyz: ${problem}; again in ${RETRY_EVERY_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
  }
}

async function main() {
  await readyz();
  console.log(`GET https://${host}:${port}/readyz: 200`);
  for (const path of ['/mutate', '/validate']) {
    const uid = crypto.randomUUID();
    const res = await call('POST', path, review(uid));
    if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
    const out = JSON.parse(res.text);
    const r = out && out.response;
    if (!r || r.uid !== uid) throw new Error(`POST ${path}: response.uid does not echo ${uid}: ${res.text}`);
    if (r.allowed !== true) throw new Error(`POST ${path}: a ConfigMap review was not allowed: ${res.text}`);
    console.log(`POST https://${host}:${port}${path}: allowed, uid echoed`);
  }
  console.log('mountgate answers');
}

main().catch((err) => {
  console.error(`mountgate helm test failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
