import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** What a local state file holds, as far as a deploy must know before it plans. */
export type StateFile =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ok'; readonly serial: number; readonly resources: readonly string[] }
  | { readonly kind: 'broken'; readonly why: string };

/** Terraform's state file, as much of it as is read here. */
interface StateDocument {
  serial?: unknown;
  resources?: Array<{ mode?: string; type?: string; name?: string }>;
}

/**
 * Reads a local state file without Terraform. Terraform takes an empty file for "no state" (and a
 * deploy would then create everything again: a second job register, a variable rewrite, a
 * release), and a half-written one fails init naming neither the file nor its backup: both are
 * `broken` here, so the deploy refuses before it plans.
 */
export function inspectStateFile(path: string): StateFile {
  if (!existsSync(path)) return { kind: 'absent' };
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return { kind: 'broken', why: `it is empty (${statSync(path).size} bytes)` };
  let document: StateDocument;
  try {
    document = JSON.parse(text) as StateDocument;
  } catch (e) {
    return { kind: 'broken', why: `it is not JSON (${(e as Error).message}): it was cut short or edited` };
  }
  if (typeof document !== 'object' || document === null || typeof document.serial !== 'number' || !Array.isArray(document.resources)) {
    return { kind: 'broken', why: 'it is JSON but not a Terraform state (no serial or resources)' };
  }
  const resources = document.resources.filter((r) => r.mode !== 'data').map((r) => `${r.type}.${r.name}`);
  return { kind: 'ok', serial: document.serial, resources };
}

/**
 * Why the deploy stops on a broken state file, and how to restore it: the backup Terraform keeps
 * beside it (`<file>.backup`, the state before the last write) when that one is whole.
 */
export function brokenStateMessage(path: string, why: string): string {
  const backup = `${path}.backup`;
  const saved = inspectStateFile(backup);
  const name = basename(path);
  const lines = [`The state file ${path} is broken: ${why}. It is not taken for "no state": a deploy would create the job, its variable and the release again.`];
  if (saved.kind === 'ok') {
    const written = statSync(backup).mtime.toISOString();
    lines.push(
      `Its backup ${backup} is whole (serial ${saved.serial}, ${saved.resources.length} resources, written ${written}). Restore it, keeping the broken file:`,
      `  mv ${path} ${path}.broken && cp ${backup} ${path}`,
      'then deploy again: the plan shows what changed since that backup.',
    );
  } else {
    lines.push(
      saved.kind === 'absent' ? `There is no backup (${basename(backup)}).` : `Its backup ${backup} is broken too: ${saved.why}.`,
      `Move ${name} away and adopt the running job on purpose: npm run deploy -- <environment> --adopt (README, "Troubleshooting").`,
    );
  }
  return lines.join('\n');
}
