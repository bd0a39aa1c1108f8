/** A kubeconfig for a fake API server on loopback: plain HTTP (allowed only with insecure-skip-tls-verify) and a static token. */
import { KubeConfig } from '@kubernetes/client-node';

export function loopbackKubeConfig(port: number, token = 'secret'): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'fake', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return config;
}
