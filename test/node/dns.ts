/**
 * The cluster DNS the kubelet gives Pods: just enough of it for `<service>.<namespace>.svc` (the
 * name the chart's `helm test` Pod calls). A small UDP server on the Pod network's gateway answers
 * A queries for Services from the API server; every other name gets NXDOMAIN (so resolvers move
 * on at once), AAAA gets no answer.
 */
import dgram from 'node:dgram';
import { ApiException, type CoreV1Api } from '@kubernetes/client-node';

const SERVICE_NAME = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?$/;
const TYPE_A = 1;
const RCODE_NXDOMAIN = 3;

interface Question {
  readonly name: string;
  readonly type: number;
  /** The question section as received (echoed in the answer). */
  readonly raw: Buffer;
}

function parseQuestion(message: Buffer): Question | undefined {
  const labels: string[] = [];
  let offset = 12;
  for (let guard = 0; guard < 128; guard++) {
    const length = message[offset];
    if (length === undefined || length > 63) return undefined;
    offset += 1;
    if (length === 0) break;
    labels.push(message.subarray(offset, offset + length).toString('latin1').toLowerCase());
    offset += length;
  }
  if (offset + 4 > message.length) return undefined;
  return { name: labels.join('.'), type: message.readUInt16BE(offset), raw: message.subarray(12, offset + 4) };
}

function answer(query: Buffer, question: Question, address: string | undefined, found: boolean): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the id
  const recursionDesired = (query[2] ?? 0) & 0x01;
  header[2] = 0x84 | recursionDesired; // a response, authoritative
  header[3] = found ? 0 : RCODE_NXDOMAIN;
  header.writeUInt16BE(1, 4);
  if (address === undefined) return Buffer.concat([header, question.raw]);
  header.writeUInt16BE(1, 6);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(TYPE_A, 2);
  record.writeUInt16BE(1, 4); // class IN
  record.writeUInt32BE(5, 6); // TTL
  record.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
  return Buffer.concat([header, question.raw, record]);
}

async function clusterIp(core: CoreV1Api, name: string, namespace: string): Promise<string | undefined> {
  try {
    const service = await core.readNamespacedService({ name, namespace });
    const ip = service.spec?.clusterIP;
    return ip === undefined || ip === 'None' ? undefined : ip;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

export interface ClusterDns {
  readonly address: string;
  stop(): Promise<void>;
}

export async function startClusterDns(core: CoreV1Api, address: string): Promise<ClusterDns> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, peer) => {
    const question = parseQuestion(query);
    if (question === undefined) return;
    const match = SERVICE_NAME.exec(question.name);
    const lookup = match?.[1] !== undefined && match[2] !== undefined ? clusterIp(core, match[1], match[2]) : Promise.resolve(undefined);
    void lookup
      .then((ip) => {
        const found = ip !== undefined;
        socket.send(answer(query, question, found && question.type === TYPE_A ? ip : undefined, found), peer.port, peer.address);
      })
      .catch(() => undefined); // no answer: the resolver retries
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => resolve());
  });
  return { address, stop: () => new Promise((resolve) => socket.close(() => resolve())) };
}
