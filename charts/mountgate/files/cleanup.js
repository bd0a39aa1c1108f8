// pre-delete hook: delete this release's webhook configurations before Helm removes the Service
// and Deployment, so no failurePolicy=Fail webhook is ever left pointing at nothing.
// Talks to the API server with the hook's own service-account token; a 404 counts as done.
'use strict';
const https = require('node:https');
const fs = require('node:fs');

const sa = process.env.MOUNTGATE_SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const token = fs.readFileSync(`${sa}/token`, 'utf8').trim();
const ca = fs.readFileSync(`${sa}/ca.crt`, 'utf8');
const host = process.env.KUBERNETES_SERVICE_HOST;
const port = Number(process.env.KUBERNETES_SERVICE_PORT || '443');
const targets = (process.env.MOUNTGATE_WEBHOOKS || '').split(/\s+/).filter(Boolean);

function del(path) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host, port, path, method: 'DELETE', ca, timeout: 15000, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout deleting ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  for (const t of targets) {
    const path = `/apis/admissionregistration.k8s.io/v1/${t}`;
    let last;
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        last = await del(path);
        if (last.status === 200 || last.status === 202 || last.status === 404) break;
      } catch (err) {
        last = { status: 0, text: String(err && err.message ? err.message : err) };
      }
      if (attempt < 5) await new Promise((r) => setTimeout(r, attempt * 500));
    }
    if (!last || ![200, 202, 404].includes(last.status)) {
      throw new Error(`DELETE ${path}: ${last ? `${last.status} ${last.text}` : 'no answer'}`);
    }
    console.log(`${t}: ${last.status === 404 ? 'already gone' : 'deleted'}`);
  }
}

main().catch((err) => {
  console.error(`mountgate cleanup failed: ${err && err.message ? err.message : err}`);
  console.error('Remove the webhooks by hand: see the chart README, "Emergency removal".');
  process.exit(1);
});
