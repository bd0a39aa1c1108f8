/**
 * Each command's flags are one table: the parser, the usage text and the
 * reference's test all read it, so a flag cannot be added to one and not the
 * others. Every command also takes -h/--help.
 */
import { parseArgs } from 'node:util';
import { ArgumentError, firstLine, HelpRequested } from './usage.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The flag may be given more than once; its values are collected in order. */
  readonly multiple?: boolean;
  /** The placeholder for the value in the usage, e.g. FILE. */
  readonly value?: string;
  /** The environment variable that stands in for the flag when it is not given. */
  readonly env?: string;
  /** What applies when neither the flag nor its variable is given, as the user writes it. */
  readonly fallback?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What the parser gives for a table: strings, booleans, or lists of strings for repeatable flags. */
export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]?: S[K] extends { readonly type: 'boolean' } ? boolean : S[K] extends { readonly multiple: true } ? string[] : string;
};

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'print this usage and exit 0' };

type ParserOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

function parserOptions(specs: OptionSpecs): ParserOptions {
  const options: ParserOptions = { help: parserOption(HELP_OPTION) };
  for (const [name, spec] of Object.entries(specs)) options[name] = parserOption(spec);
  return options;
}

function parsed(command: string, argv: readonly string[], options: ParserOptions, allowPositionals: boolean): { values: ParsedValues; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    const readAsFlag = isAmbiguousValue(error) ? valueReadAsFlag(argv, options) : undefined;
    throw new ArgumentError(command, readAsFlag ?? withoutOperandHint(firstLine(error)));
  }
}

/** Where operands are allowed, parseArgs adds to an unknown flag how to pass it as an operand (after "--"): no command's operand begins with "-". */
function withoutOperandHint(message: string): string {
  return /^(Unknown option '.*')\. To specify a positional argument starting with a '-'/s.exec(message)?.[1] ?? message;
}

/** Parses `argv` by `specs` (no positional arguments); throws HelpRequested for -h/--help and ArgumentError for anything else amiss. */
export function parseOptions<S extends OptionSpecs>(command: string, argv: readonly string[], specs: S): OptionValues<S> {
  const { values } = parsed(command, argv, parserOptions(specs), false);
  if (values.help === true) throw new HelpRequested(command);
  delete values.help;
  // `--config ""` would be taken as a file named "", where an empty variable counts as unset: refused.
  for (const [name, value] of Object.entries(values)) {
    if (value === '' || (Array.isArray(value) && value.includes(''))) throw new ArgumentError(command, `--${name} must not be empty`);
  }
  // parseArgs in strict mode gives each flag the type its table row declares.
  return values as OptionValues<S>;
}

/**
 * For a command that takes operands and no flag but -h/--help (`help`, whose answer to --help depends on its
 * operand): the operands in order, and whether -h/--help was given anywhere among them; ArgumentError for any other flag.
 */
export function parseOperands(command: string, argv: readonly string[]): { readonly operands: readonly string[]; readonly help: boolean } {
  const { values, positionals } = parsed(command, argv, parserOptions({}), true);
  return { operands: positionals, help: values.help === true };
}

/**
 * How the user wrote flag `name` (`-o`, or `--output` whether its value came after "=" or as the next argument), for a
 * refusal of its value: the last time it was given, as that is the value that counts. `argv` is one parseOptions accepted.
 */
export function flagAsWritten(argv: readonly string[], specs: OptionSpecs, name: string): string {
  const { tokens } = parseArgs({ args: [...argv], options: parserOptions(specs), strict: true, allowPositionals: false, tokens: true });
  const given = tokens.filter((token) => token.kind === 'option' && token.name === name);
  const last = given[given.length - 1];
  return last?.kind === 'option' ? last.rawName : `--${name}`;
}

function isAmbiguousValue(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && firstLine(error).endsWith('argument is ambiguous.');
}

/**
 * A flag's value that begins with "-" is read as the next flag, where parseArgs's first line says only that the
 * argument is ambiguous: the flag, what came after it, and the form that takes such a value.
 */
function valueReadAsFlag(argv: readonly string[], options: Readonly<Record<string, { type: 'string' | 'boolean' }>>): string | undefined {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    // Unlike strict mode, this one takes the next argument as the value: the one strict mode refused.
    if (token.kind !== 'option' || !Object.hasOwn(options, token.name) || options[token.name]?.type !== 'string' || token.inlineValue !== false) continue;
    const next = token.value;
    if (next !== undefined && next.length > 1 && next.startsWith('-')) {
      return `${token.rawName} takes a value, but ${JSON.stringify(next)} after it begins with "-" and is read as a flag (give such a value as --${token.name}=VALUE)`;
    }
  }
  return undefined;
}

function parserOption(spec: OptionSpec): { type: 'string' | 'boolean'; short?: string; multiple?: boolean } {
  return {
    type: spec.type,
    ...(spec.short === undefined ? {} : { short: spec.short }),
    ...(spec.multiple === true ? { multiple: true } : {}),
  };
}

/** The usage's lines for a table, -h/--help last: flag and value, description, then default and variable. */
export function describeOptions(specs: OptionSpecs): string[] {
  const rows = [...Object.entries(specs), ['help', HELP_OPTION] as const].map(([name, spec]) => {
    const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
    const notes = [
      ...(spec.fallback === undefined ? [] : [`default ${spec.fallback}`]),
      ...(spec.env === undefined ? [] : [`env ${spec.env}`]),
      ...(spec.multiple === true ? ['repeatable'] : []),
    ];
    return { flag, text: `${spec.description}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}` };
  });
  const width = Math.max(...rows.map((row) => row.flag.length));
  return rows.map((row) => `  ${row.flag.padEnd(width)}  ${row.text}`);
}
