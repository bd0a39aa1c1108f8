/**
 * The YAML `check` and `backstop` print, for `kubectl apply -f -`. kubectl reads YAML 1.1 through
 * sigs.k8s.io/yaml (go-yaml v2), where plain `on`, `yes`, `y`, `~`, `1_000` or `0b11` are no strings:
 * a label `on` would come back a boolean. So every string a YAML 1.1 reader would take for another type
 * is quoted (the `compat` schema), and so are the numbers go-yaml v2 reads beyond YAML 1.1 (it drops
 * every "_" and takes Go's literals: `0o17`, `0X1F`, `-_1`). The rest stays plain.
 */
import { Document, Scalar, visit, type ToStringOptions } from 'yaml';
import { goYamlNumber } from './kubectl-yaml.js';

const GO_INTEGER = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/**
 * Whether go-yaml v2's resolve() reads this plain scalar as a number: as check's reader models it
 * (goYamlNumber), and numbers past its range too, which other readers take for numbers. Its words (y, on, ~,
 * .inf, <<) and timestamps are YAML 1.1's, quoted by the compat schema.
 */
export function goYamlReadsAsNumber(text: string): boolean {
  if (goYamlNumber(text) !== undefined) return true;
  if (text.startsWith('.')) return /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(text);
  if (!/^[-+0-9]/.test(text)) return false;
  const plain = text.replace(/_/g, '');
  return GO_INTEGER.test(plain) || GO_FLOAT.test(plain);
}

/**
 * NEL, LS and PS break lines in YAML 1.1, not in 1.2: inside quotes too, so they are escaped. So are DEL, the C1
 * controls and U+FFFE and U+FFFF, which go-yaml v2's reader refuses anywhere in its input, quoted or not
 * ("control characters are not allowed"), where the yaml package writes them as they are.
 */
const NOT_RAW = /[\u007f-\u009f\u2028\u2029\ufffe\uffff]/;
const EVERY_NOT_RAW = new RegExp(NOT_RAW.source, 'g');
const ESCAPES: Readonly<Record<string, string>> = { '\u0085': '\\N', '\u2028': '\\L', '\u2029': '\\P' };

function escaped(character: string): string {
  const code = character.charCodeAt(0);
  return ESCAPES[character] ?? (code < 0x100 ? `\\x${code.toString(16)}` : `\\u${code.toString(16)}`);
}

/**
 * A string of several lines whose first line with text begins with a space or a tab: the yaml package writes it
 * as a block scalar without an indentation indicator, so readers, go-yaml v2 among them, take that line's blanks
 * for indentation (" \n" comes back "\n") or refuse a tab there ("found a tab character where an indentation
 * space is expected").
 */
const BLANK_FIRST_LINE = /^(?=[^]*\n)\n*[ \t]/;

/** `value` as one YAML document that YAML 1.1 and 1.2 readers, kubectl among them, read back unchanged. */
export function yamlFor11(value: unknown, options: ToStringOptions = {}): string {
  const document = new Document(value, { compat: 'yaml-1.1' });
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && (goYamlReadsAsNumber(node.value) || NOT_RAW.test(node.value) || BLANK_FIRST_LINE.test(node.value))) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  // Every string holding one of them is double-quoted, where \N, \L, \P, \xHH and \uHHHH are their escapes.
  return document.toString(options).replace(EVERY_NOT_RAW, escaped);
}
