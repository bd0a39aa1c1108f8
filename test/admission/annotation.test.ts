import { expect } from 'chai';
import { MAX_ANNOTATION_ENTRIES, parseAnnotation } from '../../src/admission/annotation.js';
import { describeViolation } from '../../src/admission/violation.js';
import { FIELD } from '../helpers/pods.js';

const reasons = (value: string): string[] => parseAnnotation(value, FIELD).violations.map(describeViolation);

describe('admission/annotation', () => {
  it('reads the mountgate spelling', () => {
    expect(parseAnnotation('[{"hostPath":"/a","mountPath":"/b","readOnly":false}]', FIELD).requests).to.deep.equal([
      { index: 0, request: { hostPath: '/a', mountPath: '/b', readOnly: false }, keys: { hostPath: 'hostPath', mountPath: 'mountPath', readOnly: 'readOnly' } },
    ]);
  });

  it('reads the deer-flow spelling as the same fields', () => {
    expect(parseAnnotation('[{"host_path":"/a","container_path":"/b","read_only":true}]', FIELD).requests).to.deep.equal([
      { index: 0, request: { hostPath: '/a', mountPath: '/b', readOnly: true }, keys: { hostPath: 'host_path', mountPath: 'container_path', readOnly: 'read_only' } },
    ]);
  });

  it('leaves readOnly unset when the entry says nothing', () => {
    expect(parseAnnotation('[{"hostPath":"/a","mountPath":"/b"}]', FIELD).requests[0]?.request).to.deep.equal({ hostPath: '/a', mountPath: '/b' });
  });

  it('reads a key repeated only inside a value, or in another entry, as given once', () => {
    expect(parseAnnotation('[{"hostPath":"/a,\\"hostPath\\":{","mountPath":"/b"},{"hostPath":"/c","mountPath":"/d"}]', FIELD)).to.deep.equal({
      requests: [
        { index: 0, request: { hostPath: '/a,"hostPath":{', mountPath: '/b' }, keys: { hostPath: 'hostPath', mountPath: 'mountPath', readOnly: 'readOnly' } },
        { index: 1, request: { hostPath: '/c', mountPath: '/d' }, keys: { hostPath: 'hostPath', mountPath: 'mountPath', readOnly: 'readOnly' } },
      ],
      violations: [],
    });
  });

  it('reads an empty list as no requests', () => {
    expect(parseAnnotation('[]', FIELD)).to.deep.equal({ requests: [], violations: [] });
  });

  const denied: Array<[string, string, string[]]> = [
    ['text that is not JSON', 'mounts: /srv', [`${FIELD}: is not valid JSON (Unexpected token 'm', "mounts: /srv" is not valid JSON)`]],
    ['an object instead of a list', '{"hostPath":"/a","mountPath":"/b"}', [`${FIELD}: must be a JSON array of mounts`]],
    ['a list of strings', '["/srv/a:/b"]', [`${FIELD}[0]: must be an object with hostPath and mountPath`]],
    ['null and nested lists', '[null,[]]', [`${FIELD}[0]: must be an object with hostPath and mountPath`, `${FIELD}[1]: must be an object with hostPath and mountPath`]],
    ['an unknown key', '[{"hostPath":"/a","mountPath":"/b","subPath":"x"}]', [
      `${FIELD}[0]: unknown key "subPath" (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    ['a prototype-pollution key', '[{"hostPath":"/a","mountPath":"/b","__proto__":{"readOnly":false}}]', [
      `${FIELD}[0]: unknown key "__proto__" (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    ['two unknown keys, each quoted', '[{"hostPath":"/a","mountPath":"/b","subPath":"x","mode":1}]', [
      `${FIELD}[0]: unknown key "subPath", "mode" (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    ['300 unknown keys, five named', `[{"hostPath":"/a","mountPath":"/b",${Array.from({ length: 300 }, (_, index) => `"k${index}":1`).join(',')}}]`, [
      `${FIELD}[0]: unknown key "k0", "k1", "k2", "k3", "k4" and 295 more (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    ['an unknown key of 5,000 characters, cut in the middle', `[{"hostPath":"/a","mountPath":"/b","${'x'.repeat(5_000)}":1}]`, [
      `${FIELD}[0]: unknown key "${'x'.repeat(48)}…${'x'.repeat(15)}" (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    // Escaped as JSON: a quote cannot close the quoted key early, nor a line break start a line of its own.
    ['an unknown key with a quote, a comma and a line break', '[{"hostPath":"/a","mountPath":"/b","a\\", \\"b\\nc":1}]', [
      `${FIELD}[0]: unknown key "a\\", \\"b\\nc" (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`,
    ]],
    ['readOnly given as the string "true"', '[{"hostPath":"/a","mountPath":"/b","readOnly":"true"}]', [`${FIELD}[0].readOnly: must be a boolean (true or false)`]],
    ['read_only given as a number', '[{"host_path":"/a","container_path":"/b","read_only":1}]', [`${FIELD}[0].read_only: must be a boolean (true or false)`]],
    ['a hostPath that is a number', '[{"hostPath":7,"mountPath":"/b"}]', [`${FIELD}[0].hostPath: must be a string`]],
    ['a missing hostPath', '[{"mountPath":"/b"}]', [`${FIELD}[0].hostPath: is required`]],
    ['a missing container_path', '[{"host_path":"/a"}]', [`${FIELD}[0].mountPath: is required`]],
    ['both spellings of hostPath', '[{"hostPath":"/a","host_path":"/a","mountPath":"/b"}]', [`${FIELD}[0]: gives both hostPath and host_path; use one`]],
    ['both spellings of readOnly', '[{"hostPath":"/a","mountPath":"/b","readOnly":true,"read_only":true}]', [`${FIELD}[0]: gives both readOnly and read_only; use one`]],
    ['one good entry and one bad one', '[{"hostPath":"/a","mountPath":"/b"},{"hostPath":"/a"}]', [`${FIELD}[1].mountPath: is required`]],
    // JSON.parse keeps the last of a repeated key; a reader that keeps the first would see another mount.
    ['hostPath given twice', '[{"hostPath":"/etc","hostPath":"/a","mountPath":"/b"}]', [`${FIELD}[0]: gives hostPath more than once; use one`]],
    ['read_only given twice, once with an escape', '[{"host_path":"/a","container_path":"/b","read_only":false,"read\\u005fonly":true}]', [
      `${FIELD}[0]: gives read_only more than once; use one`,
    ]],
    ['hostPath given twice, the first ending in a backslash', '[{"hostPath":"/a\\\\","hostPath":"/c","mountPath":"/b"}]', [`${FIELD}[0]: gives hostPath more than once; use one`]],
    ['mountPath given three times in the second entry', '[{"hostPath":"/a","mountPath":"/b"},{"mountPath":"/c","hostPath":"/a","mountPath":"/d","mountPath":"/e"}]', [
      `${FIELD}[1]: gives mountPath more than once; use one`,
    ]],
    ['a repeated key beside both spellings of another', '[{"hostPath":"/a","host_path":"/a","mountPath":"/b","mountPath":"/b"}]', [
      `${FIELD}[0]: gives both hostPath and host_path; use one`,
      `${FIELD}[0]: gives mountPath more than once; use one`,
    ]],
  ];
  for (const [name, value, expected] of denied) {
    it(`denies ${name}`, () => expect(reasons(value)).to.deep.equal(expected));
  }

  it(`refuses more than ${MAX_ANNOTATION_ENTRIES} entries without reading them`, () => {
    const entries = JSON.stringify(Array.from({ length: MAX_ANNOTATION_ENTRIES + 1 }, () => ({ hostPath: '/a', mountPath: '/b' })));
    expect(reasons(entries)).to.deep.equal([`${FIELD}: has ${MAX_ANNOTATION_ENTRIES + 1} entries, more than the ${MAX_ANNOTATION_ENTRIES} mountgate reads`]);
  });
});
