package dev.visiontower.cli;

import dev.visiontower.api.VisionTowerException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point of the {@code visiontower} command. */
@Command(name = "visiontower", mixinStandardHelpOptions = true, version = "visiontower 0.1.0",
        description = "Vision towers (CLIP, SigLIP, InternViT) on pluggable numeric backends.",
        subcommands = {BackendsCommand.class, EmbedCommand.class, EmbedTextCommand.class, ScoreCommand.class,
                ClassifyCommand.class, TokenizeCommand.class, PreprocessCommand.class, ExportOnnxCommand.class,
                ParityCommand.class, BenchCommand.class, MakeShapesCommand.class, TrainCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    /** Exit code for bad input (files, shapes, options, unavailable backends). */
    static final int EXIT_BAD_INPUT = 2;
    /** A native allocation failed (host or device memory). */
    static final int EXIT_OUT_OF_MEMORY = 3;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setUseSimplifiedAtFiles(true); // @file: one argument per line, for lists too long for a command line
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parse) -> {
            boolean showTrace = VerboseOption.given(parse);
            if (ex instanceof dev.visiontower.api.OutOfMemoryException) {
                err.println("visiontower: out of memory: " + ex.getMessage()
                        + " (try a smaller --batch, --dtype bfloat16, or another device)");
                if (showTrace) {
                    ex.printStackTrace(err);
                }
                return EXIT_OUT_OF_MEMORY;
            }
            if (ex instanceof VisionTowerException) {
                // one line, whatever a message carries (a library's text may hold line breaks)
                err.println("visiontower: error: " + String.valueOf(ex.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                if (showTrace) {
                    ex.printStackTrace(err);
                }
                return EXIT_BAD_INPUT;
            }
            err.println("visiontower: internal error: " + ex);
            if (showTrace) {
                ex.printStackTrace(err);
            } else {
                err.println("(run again with --verbose for the stack trace)");
            }
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("visiontower: error: " + ex.getMessage());
            err.println("(see 'visiontower " + ex.getCommandLine().getCommandName() + " --help')");
            return EXIT_BAD_INPUT;
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) { // the Java heap: a JVM Error picocli does not hand to the handler above
            err.println("visiontower: out of memory: the Java heap is full (" + e.getMessage() + "); give the JVM "
                    + "more with VISIONTOWER_JAVA_OPTS=-Xmx..., or use a smaller --batch");
            code = EXIT_OUT_OF_MEMORY;
        } catch (StackOverflowError e) {
            err.println("visiontower: internal error: stack overflow (run again with --verbose for the trace)");
            code = 1;
        }
        out.flush();
        err.flush();
        return code;
    }
}
