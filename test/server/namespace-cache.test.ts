import { expect } from 'chai';
import type { V1Namespace } from '@kubernetes/client-node';
import { asNamespace, NamespaceLevelTable } from '../../src/server/namespace-cache.js';

/** Namespaces as the API server lists them (trimmed to what the cache reads). */
const recorded: V1Namespace[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'agents', labels: { 'kubernetes.io/metadata.name': 'agents', 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'latest' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sandboxes', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
];

describe('server/namespace-cache', () => {
  it('knows nothing until synced, so it never blocks early', () => {
    const table = new NamespaceLevelTable();
    for (const namespace of recorded) table.upsert(namespace);
    expect(table.levelOf('agents')).to.equal(undefined);
    table.markSynced(true);
    expect(['kube-system', 'agents', 'sandboxes', 'missing'].map((name) => table.levelOf(name))).to.deep.equal([undefined, 'baseline', 'privileged', undefined]);
  });

  it('follows label changes and deletions', () => {
    const table = new NamespaceLevelTable();
    table.markSynced(true);
    for (const namespace of recorded) table.upsert(namespace);
    table.upsert({ metadata: { name: 'agents', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
    expect(table.levelOf('agents')).to.equal('privileged');
    table.upsert({ metadata: { name: 'agents', labels: {} } });
    expect(table.levelOf('agents')).to.equal(undefined);
    table.remove({ metadata: { name: 'sandboxes' } });
    expect(table.levelOf('sandboxes')).to.equal(undefined);
  });

  it('answers unknown again when the watch breaks', () => {
    const table = new NamespaceLevelTable();
    table.markSynced(true);
    table.upsert(recorded[1] ?? {});
    table.markSynced(false);
    expect(table.levelOf('agents')).to.equal(undefined);
  });

  it('after a re-list holds exactly the namespaces listed', () => {
    const table = new NamespaceLevelTable();
    table.markSynced(true);
    table.replace(recorded);
    table.replace([{ metadata: { name: 'sandboxes', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }]);
    expect(['agents', 'sandboxes'].map((name) => table.levelOf(name))).to.deep.equal([undefined, 'restricted']);
  });

  describe('reads what the watch hands it, never crashing on odd objects', () => {
    const rows: ReadonlyArray<{ name: string; value: unknown; read: unknown }> = [
      { name: 'a namespace as listed', value: recorded[1], read: { metadata: { name: 'agents', labels: recorded[1]?.metadata?.labels } } },
      { name: 'no labels', value: { metadata: { name: 'a' } }, read: { metadata: { name: 'a', labels: undefined } } },
      { name: 'labels that are not all strings are dropped', value: { metadata: { name: 'a', labels: { 'pod-security.kubernetes.io/enforce': 7 } } }, read: { metadata: { name: 'a', labels: undefined } } },
      { name: 'labels that are an array are dropped', value: { metadata: { name: 'a', labels: ['restricted'] } }, read: { metadata: { name: 'a', labels: undefined } } },
      { name: 'no name', value: { metadata: { labels: {} } }, read: undefined },
      { name: 'a name that is not a string', value: { metadata: { name: 3 } }, read: undefined },
      { name: 'no metadata', value: { kind: 'Namespace' }, read: undefined },
      { name: 'metadata null', value: { metadata: null }, read: undefined },
      { name: 'not an object', value: 'agents', read: undefined },
      { name: 'null', value: null, read: undefined },
    ];
    for (const row of rows) {
      it(row.name, () => {
        expect(asNamespace(row.value)).to.deep.equal(row.read);
      });
    }
  });
});
