/**
 * The one place where values become shell words. Every remote script is assembled from argv arrays
 * through `shellQuote`, so no input can end a word early, whatever it contains.
 */

/** POSIX single-quoting: the only character that needs care inside '...' is the quote itself. */
export function shellQuote(value: string | number): string {
    const text = String(value);
    if (text.includes("\0")) {
        // A NUL cannot be passed in an argv word at all; refusing beats silently truncating it.
        throw new Error("a shell word cannot contain a NUL byte");
    }
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) {
        return text;
    }
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** One command line from argv, each word quoted. */
export function commandLine(argv: ReadonlyArray<string | number>): string {
    if (argv.length === 0) {
        throw new Error("a command needs at least one word");
    }
    return argv.map(shellQuote).join(" ");
}

/** A shell fragment that is already safe: built only from `commandLine`/`shellQuote` or fixed text. */
export class Shell {
    constructor(readonly text: string) {}
    toString(): string {
        return this.text;
    }
}

/** Tagged template: interpolated values are quoted, `Shell` fragments are inserted as they are. */
export function sh(strings: TemplateStringsArray, ...values: Array<string | number | Shell | ReadonlyArray<string | number>>): Shell {
    let out = strings[0];
    values.forEach((value, i) => {
        if (value instanceof Shell) {
            out += value.text;
        } else if (Array.isArray(value)) {
            out += commandLine(value);
        } else {
            out += shellQuote(value as string | number);
        }
        out += strings[i + 1];
    });
    return new Shell(out);
}
