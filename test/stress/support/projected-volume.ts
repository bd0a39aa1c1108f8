/**
 * Writes files the way the kubelet updates a mounted Secret or ConfigMap
 * (its AtomicWriter): each version in a fresh `..<timestamp>` directory,
 * `..data` swapped to it by an atomic rename of a symlink, and every visible
 * file a symlink through `..data`. Readers never see half of an update.
 */
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class ProjectedVolume {
  #version = 0;
  #linked = new Set<string>();

  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Publishes a new version holding exactly `files` (name to contents). */
  async publish(files: Readonly<Record<string, string>>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const version = `..${process.pid}_${Date.now()}_${this.#version++}`;
    await mkdir(join(this.dir, version));
    for (const [name, contents] of Object.entries(files)) await writeFile(join(this.dir, version, name), contents);

    const previous = await readlink(join(this.dir, '..data')).catch(() => undefined);
    await rm(join(this.dir, '..data_tmp'), { force: true });
    await symlink(version, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));

    for (const name of Object.keys(files)) {
      if (this.#linked.has(name)) continue;
      await symlink(join('..data', name), join(this.dir, name));
      this.#linked.add(name);
    }
    if (previous !== undefined) await rm(join(this.dir, previous), { recursive: true, force: true });
  }
}
