package dev.visiontower.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/** {@code -v/--verbose}, shared by every command: {@link Main} prints stack traces with errors when it was given. */
final class VerboseOption {
    static final String NAME = "--verbose";

    @Option(names = {"-v", NAME}, description = "Print stack traces on errors.")
    boolean verbose;

    /** Whether the innermost command of {@code parse} was given {@code --verbose}. */
    static boolean given(ParseResult parse) {
        ParseResult p = parse;
        while (p != null && p.hasSubcommand()) {
            p = p.subcommand();
        }
        return p != null && p.hasMatchedOption(NAME);
    }
}
