// The entry of dist/vendor/kubeconfig.js (scripts/bundle-kubeconfig.mjs): the one class mountgate uses.
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
