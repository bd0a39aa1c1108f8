import { expect } from 'chai';
import { afterRead, filesReader, readEvent, type ReadEvent, type Settling } from '../../src/server/file-poller.js';

const POLICY = 'allowedHostPaths:\n  - pathPrefix: /srv/sandbox\nrequesters: [alice]\n';
const HALF = 'allowedHostPaths:\n  - pathPrefix: /srv/sandbox\n';
const NEXT = 'allowedHostPaths:\n  - pathPrefix: /srv/models\nrequesters: [alice]\n';
/** A read that failed (the file missing mid-swap, unreadable, or not UTF-8). */
const FAILED = undefined;

/** The contents applied, read by read, starting from POLICY in force. */
function applied(reads: ReadonlyArray<string | undefined>): Array<string | undefined> {
  let state: Settling = { seen: [POLICY], pending: undefined };
  return reads.map((content) => {
    const read = afterRead(state, content === undefined ? undefined : [content]);
    state = read.state;
    return read.apply ? content : undefined;
  });
}

describe('server/file-poller: new contents apply once two reads in a row agree', () => {
  const rows: ReadonlyArray<[string, ReadonlyArray<string | undefined>, Array<string | undefined>]> = [
    ['nothing changed', [POLICY, POLICY], [undefined, undefined]],
    ['a change, read twice, applies on the second read', [NEXT, NEXT, NEXT], [undefined, NEXT, undefined]],
    ['a half-written file finished before the next read: only the whole one applies', [HALF, NEXT, NEXT], [undefined, undefined, NEXT]],
    ['a change taken back before the next read: nothing applies', [NEXT, POLICY, NEXT], [undefined, undefined, undefined]],
    ['a half-written file left so for a whole interval applies (and is then judged as any policy)', [HALF, HALF], [undefined, HALF]],
    // The file was not there, or not whole, between the two: the reads agree, but it was not left alone an interval.
    ['a change read, then a failed read, then the change: not yet', [NEXT, FAILED, NEXT], [undefined, undefined, undefined]],
    ['... it applies on the read after, two in a row', [NEXT, FAILED, NEXT, NEXT], [undefined, undefined, undefined, NEXT]],
    ['a half-written file deleted and written again, half-written once more on the next read: not applied', [HALF, FAILED, HALF, NEXT, NEXT], [undefined, undefined, undefined, undefined, NEXT]],
    ['a change read before a long failure and once after it: not yet', [NEXT, FAILED, FAILED, FAILED, NEXT, NEXT], [undefined, undefined, undefined, undefined, undefined, NEXT]],
    ['a failed read with nothing changed: nothing applies', [FAILED, POLICY, POLICY], [undefined, undefined, undefined]],
  ];
  for (const [name, reads, expected] of rows) {
    it(name, () => {
      expect(applied(reads)).to.deep.equal(expected);
    });
  }

  it('two files (a certificate and its key) apply together', () => {
    const start: Settling = { seen: ['cert-1', 'key-1'], pending: undefined };
    const first = afterRead(start, ['cert-2', 'key-1']);
    const second = afterRead(first.state, ['cert-2', 'key-2']);
    const third = afterRead(second.state, ['cert-2', 'key-2']);
    expect([first.apply, second.apply, third.apply]).to.deep.equal([false, false, true]);
    expect(third.state.seen).to.deep.equal(['cert-2', 'key-2']);
  });

  it('one of two files changed (a certificate renewed with the same key) applies too', () => {
    const start: Settling = { seen: ['cert-1', 'key-1'], pending: undefined };
    const first = afterRead(start, ['cert-2', 'key-1']);
    const second = afterRead(first.state, ['cert-2', 'key-1']);
    expect([first.apply, second.apply]).to.deep.equal([false, true]);
    expect(second.state.seen).to.deep.equal(['cert-2', 'key-1']);
  });
});

describe('server/file-poller: filesReader, the reads pollFiles makes each interval', () => {
  /** Runs one read per entry (a content, or FAILED), and gives what onChange got at each. */
  async function run(reads: ReadonlyArray<string | undefined>): Promise<Array<string | undefined>> {
    let next: string | undefined;
    const changes: Array<string | undefined> = [];
    let changed: string | undefined;
    const readOnce = filesReader(
      ['/etc/mountgate/policy.yaml'],
      [POLICY],
      async ([text]) => {
        changed = text;
      },
      () => undefined,
      async () => {
        if (next === undefined) throw new Error('ENOENT');
        return next;
      },
    );
    for (const content of reads) {
      next = content;
      changed = undefined;
      await readOnce();
      changes.push(changed);
    }
    return changes;
  }

  it('applies a change on the second of two reads in a row that agree', async () => {
    expect(await run([NEXT, NEXT])).to.deep.equal([undefined, NEXT]);
  });

  it('does not count two reads that agree with a failed read between them', async () => {
    expect(await run([NEXT, FAILED, NEXT, NEXT])).to.deep.equal([undefined, undefined, undefined, NEXT]);
  });
});

describe('server/file-poller: after files that could not be read, when they are settled again', () => {
  // mountgate_reload_last_successful stays 0 from files that cannot be read until they are 'settled': read as they
  // were when last taken or refused, or with a change among them taken or refused. Files back with a change read
  // once are neither; until then the gauge would read 1 for a change that may yet be refused.
  /** The events and changes, read by read (each a content or FAILED), as `event`s and `change:` entries. */
  async function said(reads: ReadonlyArray<string | undefined>): Promise<string[][]> {
    let next: string | undefined;
    let heard: string[] = [];
    const readOnce = filesReader(
      ['/etc/mountgate/policy.yaml'],
      [POLICY],
      async ([text]) => {
        heard.push(`change: ${text === NEXT ? 'NEXT' : text === POLICY ? 'POLICY' : 'other'}`);
      },
      (event) => heard.push(event.kind),
      async () => {
        if (next === undefined) throw new Error('ENOENT');
        return next;
      },
    );
    const out: string[][] = [];
    for (const content of reads) {
      next = content;
      heard = [];
      await readOnce();
      out.push(heard);
    }
    return out;
  }

  it('back unchanged: settled on the read that finds them', async () => {
    expect(await said([FAILED, FAILED, POLICY])).to.deep.equal([[], ['unreadable'], ['readable-again', 'settled']]);
  });

  it('back with a change: settled only once the change is judged', async () => {
    expect(await said([FAILED, FAILED, NEXT, NEXT, NEXT])).to.deep.equal([[], ['unreadable'], ['readable-again'], ['change: NEXT', 'settled'], []]);
  });

  it('back with a change that is then taken back: settled on the read that finds them as they were', async () => {
    expect(await said([FAILED, FAILED, NEXT, POLICY])).to.deep.equal([[], ['unreadable'], ['readable-again'], ['settled']]);
  });

  it('back with a change, a failed read, then the change: settled once two reads in a row agree', async () => {
    expect(await said([FAILED, FAILED, NEXT, FAILED, NEXT, NEXT])).to.deep.equal([[], ['unreadable'], ['readable-again'], [], [], ['change: NEXT', 'settled']]);
  });

  it('never said without files that were unreadable, nor after a single failed read', async () => {
    expect(await said([NEXT, NEXT, FAILED, POLICY, POLICY])).to.deep.equal([[], ['change: NEXT'], [], [], ['change: POLICY']]);
  });
});

describe('server/file-poller: a file that cannot be read is said so once per streak', () => {
  const FAILED = new Error('ENOENT');
  /** The events of a run of reads, each failed (true) or not. */
  function events(failedReads: readonly boolean[]): Array<ReadEvent['kind'] | undefined> {
    let failures = 0;
    return failedReads.map((failed) => {
      const event = readEvent(failures, failed ? FAILED : undefined);
      failures = failed ? failures + 1 : 0;
      return event?.kind;
    });
  }
  const rows: ReadonlyArray<[string, readonly boolean[], Array<ReadEvent['kind'] | undefined>]> = [
    ['reads that all succeed say nothing', [false, false], [undefined, undefined]],
    ['one failed read (a swap caught midway) says nothing, nor does the read after it', [false, true, false], [undefined, undefined, undefined]],
    ['two failed reads in a row say unreadable once, however long it lasts', [true, true, true, true], [undefined, 'unreadable', undefined, undefined]],
    ['a read after that says readable again, once', [true, true, false, false], [undefined, 'unreadable', 'readable-again', undefined]],
    ['a second streak is said again', [true, true, false, true, true], [undefined, 'unreadable', 'readable-again', undefined, 'unreadable']],
  ];
  for (const [name, reads, expected] of rows) {
    it(name, () => {
      expect(events(reads)).to.deep.equal(expected);
    });
  }

  it('carries the error of the read that made the streak', () => {
    expect(readEvent(1, FAILED)).to.deep.equal({ kind: 'unreadable', error: FAILED });
  });
});
