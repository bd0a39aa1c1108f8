import { expect } from 'chai';
import { canonicalPath, decidingEntry, isWithin, MAX_PATH_LENGTH, mountPoint, quoted, sortLongestFirst } from '../../src/policy/paths.js';

const BACKSLASH = 'contains a backslash, a path separator on Windows nodes';

describe('policy/paths', () => {
  describe('canonicalPath', () => {
    const accepted: Array<[string, string, string]> = [
      ['a plain absolute path', '/srv/sandbox', '/srv/sandbox'],
      ['the root', '/', '/'],
      ['one trailing slash, trimmed', '/srv/sandbox/', '/srv/sandbox'],
      ['dots inside a segment', '/srv/a.b/..c/...', '/srv/a.b/..c/...'],
      ['a two-character segment that starts with a dot', '/srv/.a/b', '/srv/.a/b'],
      ['unicode that only looks like a slash', '/srv/a\u2215b', '/srv/a\u2215b'],
      ['exactly the maximum length', `/${'a'.repeat(MAX_PATH_LENGTH - 1)}`, `/${'a'.repeat(MAX_PATH_LENGTH - 1)}`],
      ['a character beyond U+FFFF (a surrogate pair)', '/srv/\ud83d\ude00', '/srv/\ud83d\ude00'],
      ['the maximum length in UTF-16 code units, of characters beyond U+FFFF', `/${'\u{1F600}'.repeat((MAX_PATH_LENGTH - 2) / 2)}a`, `/${'\u{1F600}'.repeat((MAX_PATH_LENGTH - 2) / 2)}a`],
    ];
    for (const [name, input, expected] of accepted) {
      it(`accepts ${name}`, () => expect(canonicalPath(input)).to.deep.equal({ ok: true, path: expected }));
    }

    const rejected: Array<[string, string, string]> = [
      ['the empty string', '', 'is empty'],
      ['a relative path', 'srv/sandbox', 'is not absolute'],
      ['a path one character too long', `/${'a'.repeat(MAX_PATH_LENGTH)}`, `is longer than ${MAX_PATH_LENGTH} UTF-16 code units`],
      ['fewer code points than the limit but more UTF-16 code units', `/${'\u{1F600}'.repeat(MAX_PATH_LENGTH / 2)}`, `is longer than ${MAX_PATH_LENGTH} UTF-16 code units`],
      ['a lone high surrogate', '/srv/sandbox/\ud800', 'is not well-formed Unicode (it has a lone UTF-16 surrogate)'],
      ['a lone low surrogate inside a segment', '/srv/a\udc00b', 'is not well-formed Unicode (it has a lone UTF-16 surrogate)'],
      ['a surrogate pair in reverse order', '/srv/\ude00\ud83d', 'is not well-formed Unicode (it has a lone UTF-16 surrogate)'],
      ['a pair followed by a lone high surrogate', '/srv/\ud83d\ude00\ud83d', 'is not well-formed Unicode (it has a lone UTF-16 surrogate)'],
      ['NUL', '/srv/a\u0000b', 'contains a control character'],
      ['U+001F', '/srv/a\u001fb', 'contains a control character'],
      ['DEL (U+007F)', '/srv/a\u007fb', 'contains a control character'],
      ['a newline', '/srv/a\nb', 'contains a control character'],
      ['a backslash that Windows reads as ".." segments', '/srv/sandbox/x\\..\\..\\Windows', BACKSLASH],
      ['a lone backslash segment', '/srv/\\', BACKSLASH],
      ['a relative path with a backslash (the backslash is named first)', 'srv\\a', BACKSLASH],
      ['a control character before a backslash (the control character is named first)', '/srv/\u0000\\', 'contains a control character'],
      ['an empty segment', '/srv//sandbox', 'has an empty segment ("//")'],
      ['two trailing slashes', '/srv/sandbox//', 'has an empty segment ("//")'],
      ['a leading double slash', '//srv', 'has an empty segment ("//")'],
      ['a "." segment', '/srv/./sandbox', 'has a "." segment'],
      ['a trailing "."', '/srv/sandbox/.', 'has a "." segment'],
      ['a ".." segment', '/srv/sandbox/../etc', 'has a ".." segment'],
      ['a trailing ".." with slash', '/srv/..', 'has a ".." segment'],
    ];
    for (const [name, input, problem] of rejected) {
      it(`rejects ${name}`, () => expect(canonicalPath(input)).to.deep.equal({ ok: false, problem }));
    }
  });

  describe('mountPoint (where the runtime mounts: the kubelet cleans "/" + the path)', () => {
    const rows: Array<[string, string, string]> = [
      ['a plain absolute path, as written', '/mnt/x', '/mnt/x'],
      ['the root', '/', '/'],
      ['a trailing slash, dropped', '/mnt/x/', '/mnt/x'],
      ['two trailing slashes, dropped', '/mnt/x//', '/mnt/x'],
      ['an empty segment, dropped', '/mnt//x', '/mnt/x'],
      ['only slashes', '//', '/'],
      ['a "." segment, dropped', '/mnt/./x', '/mnt/x'],
      ['a ".." segment, taking the one before it', '/mnt/a/../x', '/mnt/x'],
      ['a ".." above the root, at the root', '/..', '/'],
      ['a relative path, from the root', 'mnt/x', '/mnt/x'],
      ['a relative path that climbs, from the root', '../x', '/x'],
      ['segments that only start with dots, as written', '/mnt/.hidden/..x', '/mnt/.hidden/..x'],
    ];
    for (const [name, input, expected] of rows) {
      it(name, () => expect(mountPoint(input)).to.equal(expected));
    }
  });

  describe('quoted (a refused path in a message)', () => {
    const rows: Array<[string, string, string]> = [
      ['a plain path, as JSON', '/srv/a"b', '"/srv/a\\"b"'],
      ['C0 controls, as JSON escapes them', '/srv/a\u0000\nb', '"/srv/a\\u0000\\nb"'],
      ['DEL, which JSON leaves as it is', '/srv/a\u007fb', '"/srv/a\\u007fb"'],
      ['a C1 control (CSI)', '/srv/a\u009bb', '"/srv/a\\u009bb"'],
      ['the line and paragraph separators', '/srv/\u2028\u2029', '"/srv/\\u2028\\u2029"'],
      ['marks that reorder shown text', '/srv/\u202etxt.exe\u2066\u200f', '"/srv/\\u202etxt.exe\\u2066\\u200f"'],
      ['the Arabic letter mark, which reorders shown text as the right-to-left mark does', '/srv/\u061ctxt.exe', '"/srv/\\u061ctxt.exe"'],
      ['other text beyond ASCII, as it is', '/srv/caf\u00e9/\u{1F600}', '"/srv/caf\u00e9/\u{1F600}"'],
    ];
    for (const [name, input, expected] of rows) {
      it(`quotes ${name}`, () => expect(quoted(input)).to.equal(expected));
    }
  });

  describe('isWithin (whole segments)', () => {
    const rows: Array<[string, string, string, boolean]> = [
      ['the prefix itself', '/srv/sandbox', '/srv/sandbox', true],
      ['a child', '/srv/sandbox/a', '/srv/sandbox', true],
      ['a deep child', '/srv/sandbox/a/b/c', '/srv/sandbox', true],
      ['a sibling sharing characters', '/srv/sandbox2', '/srv/sandbox', false],
      ['a sibling sharing characters and a child', '/srv/sandbox2/a', '/srv/sandbox', false],
      ['a parent', '/srv', '/srv/sandbox', false],
      ['anything under the root', '/etc', '/', true],
    ];
    for (const [name, path, prefix, expected] of rows) {
      it(`${expected ? 'covers' : 'does not cover'} ${name}`, () => expect(isWithin(path, prefix)).to.equal(expected));
    }
  });

  describe('decidingEntry', () => {
    const entries = sortLongestFirst([
      { pathPrefix: '/srv', readOnly: false },
      { pathPrefix: '/srv/models', readOnly: true },
      { pathPrefix: '/srv/models/scratch', readOnly: false },
    ]);
    const rows: Array<[string, string | undefined]> = [
      ['/srv/models/scratch/x', '/srv/models/scratch'],
      ['/srv/models/scratch2', '/srv/models'],
      ['/srv/models', '/srv/models'],
      ['/srv/other', '/srv'],
      ['/opt', undefined],
    ];
    for (const [path, expected] of rows) {
      it(`the longest covering prefix decides ${path}`, () => expect(decidingEntry(entries, path)?.pathPrefix).to.equal(expected));
    }

    it('prefers the read-only entry when two lists name the same directory', () => {
      const sorted = sortLongestFirst([
        { pathPrefix: '/data', readOnly: false },
        { pathPrefix: '/data', readOnly: true },
      ]);
      expect(decidingEntry(sorted, '/data/x')).to.deep.equal({ pathPrefix: '/data', readOnly: true });
    });
  });
});
