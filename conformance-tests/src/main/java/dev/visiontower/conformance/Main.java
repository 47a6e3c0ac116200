package dev.visiontower.conformance;

import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.spi.BackendOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code java -p <jars> --add-modules ALL-MODULE-PATH -m dev.visiontower.conformance/dev.visiontower.conformance.Main
 * [--backend NAME]... [--option KEY=VALUE]... [--golden DIR] [--model DIR]... [--json FILE] [--fail-on-skip]}: runs the kit and exits 1 if anything
 * failed (or, with {@code --fail-on-skip}, was skipped).
 */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Check backends and model plugins against the float64 reference, the golden fixtures and each other.")
public final class Main implements Callable<Integer> {
    @Option(names = "--backend", paramLabel = "NAME", description = "Backend to check (repeat; default: every one found).")
    List<String> backends = new ArrayList<>();

    @Option(names = "--golden", paramLabel = "DIR", description = "Golden fixture folder (cases in sub-folders).")
    Path golden;

    @Option(names = "--model", paramLabel = "DIR", description = "Extra model directory to check (repeat).")
    List<Path> models = new ArrayList<>();

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu or cuda[:N].")
    String device;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32", description = "Compute dtype.")
    String dtype;

    @Option(names = "--option", paramLabel = "KEY=VALUE",
            description = "Backend-specific option (repeat), e.g. tf32=true or gemm=own for jcuda.")
    Map<String, String> extra = new java.util.LinkedHashMap<>();

    @Option(names = "--fail-on-skip", description = "Exit 1 also when a check or backend was skipped (e.g. a backend "
            + "that cannot run here), not only when one failed.")
    boolean failOnSkip;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON.")
    Path json;

    @Override
    public Integer call() throws Exception {
        Report r = ConformanceKit.run(new ConformanceKit.Options(backends, golden, models,
                new BackendOptions(Device.parse(device), DType.parse(dtype), 0, extra)));
        r.print(new PrintWriter(System.out, true));
        if (json != null) {
            Files.writeString(json, r.toJson());
        }
        if (!r.passed()) {
            return 1;
        }
        return failOnSkip && r.count(Outcome.SKIP) > 0 ? 1 : 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
