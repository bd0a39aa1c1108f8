/**
 * The node's Pod network: one Linux bridge with a /24 of private addresses, which the bridge CNI
 * plugin attaches every Pod to. Its gateway address belongs to this machine, so the API server
 * listens there too (Pods reach it through the `kubernetes` Service; a loopback address cannot be
 * a Service endpoint). Nothing routes this network anywhere: no masquerading to the outside.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { run, runQuietly } from './commands.js';

export const BRIDGE = 'mgnode0';
export const POD_CIDR = '10.244.0.0/24';
export const GATEWAY = '10.244.0.1';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** The bridge CNI configuration: host-local addresses from POD_CIDR, default route via GATEWAY. */
export function cniConfig(ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: 'mountgate-node',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: POD_CIDR, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
    ],
  });
}

/**
 * Creates the bridge with its gateway address (before the API server binds to it) and returns how
 * to undo everything: the bridge plugin turns on IPv4 forwarding, so the old value is restored.
 */
export async function createBridge(): Promise<() => Promise<void>> {
  const forwarding = (await readFile(IP_FORWARD, 'utf8')).trim();
  await removeBridge();
  await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  return async () => {
    await removeBridge();
    await writeFile(IP_FORWARD, `${forwarding}\n`);
  };
}

async function removeBridge(): Promise<void> {
  await runQuietly('ip', ['link', 'del', BRIDGE]);
}
