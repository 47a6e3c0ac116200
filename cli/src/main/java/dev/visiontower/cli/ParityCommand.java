package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.Backends;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower parity}: the same input on several backends, compared with the first. */
@Command(name = "parity", mixinStandardHelpOptions = true,
        description = "Run every available backend (or the named ones) on the same input and compare each output "
                + "with the first backend's: max abs, max rel, cosine.")
final class ParityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model directory. Default: the bundled sample model.")
    Path model;

    @Option(names = "--backends", paramLabel = "A,B", split = ",", description = "Backends (default: every available).")
    List<String> backends;

    @ArgGroup(exclusive = true)
    EmbedCommand.Input input;

    @Option(names = "--interpolate-pos-encoding", description = "Accept inputs at another resolution.")
    boolean interpolate;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Mixin
    VerboseOption verbose;

    @Mixin
    ImageOptions imageOptions;

    @Override
    public Integer call() throws Exception {
        CommonOptions common = new CommonOptions();
        common.model = model;
        Path dir = common.modelDir();
        List<String> names = backends;
        if (names == null || names.isEmpty()) {
            names = new ArrayList<>();
            for (Backends.Info i : Backends.list()) {
                if (i.available()) {
                    names.add(i.name());
                }
            }
        }
        if (names.size() < 2) {
            throw new InvalidInputException("parity needs two backends, found " + names);
        }
        Map<String, Map<String, HostTensor>> results = new LinkedHashMap<>();
        HostTensor pixels = null;
        for (String name : names) {
            try (Backend b = Backends.open(name, dev.visiontower.api.Device.CPU);
                 DualEncoder m = DualEncoder.open(dir, b);
                 TensorScope scope = b.newScope()) {
                if (pixels == null) {
                    pixels = input == null ? random(m.vision().imageSize())
                            : input.pixels != null ? Inputs.readPixels(input.pixels) : Inputs.preprocess(input.images, m.preprocessor(),
                            imageOptions.load());
                }
                VisionOutput out = m.vision().forward(b.fromHost(pixels), new ForwardOptions(interpolate, false));
                Map<String, HostTensor> r = new LinkedHashMap<>();
                r.put("last_hidden_state", out.lastHiddenState().toHost());
                if (out.poolerOutput() != null) {
                    r.put("pooler_output", out.poolerOutput().toHost());
                }
                if (out.imageEmbeds() != null) {
                    r.put("image_embeds", out.imageEmbeds().toHost());
                }
                results.put(name, r);
            }
        }
        String base = names.get(0);
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean allOk = true;
        for (String name : names.subList(1, names.size())) {
            for (Map.Entry<String, HostTensor> e : results.get(base).entrySet()) {
                Tolerance.Comparison c = Tolerance.FLOAT32.compare(results.get(name).get(e.getKey()), e.getValue());
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("backend", name);
                row.put("reference", base);
                row.put("output", e.getKey());
                row.put("max_abs", c.maxAbs());
                row.put("max_rel", c.maxRel());
                row.put("cosine", c.cosine());
                row.put("within_tolerance", c.ok());
                allOk &= c.ok();
                rows.add(row);
            }
        }
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
        } else {
            List<String[]> table = new ArrayList<>();
            table.add(new String[] {"BACKEND", "VS", "OUTPUT", "MAX ABS", "MAX REL", "COSINE", "OK"});
            for (Map<String, Object> r : rows) {
                table.add(new String[] {(String) r.get("backend"), (String) r.get("reference"), (String) r.get("output"),
                    String.format(Locale.ROOT, "%.3g", (Double) r.get("max_abs")),
                    String.format(Locale.ROOT, "%.3g", (Double) r.get("max_rel")),
                    String.format(Locale.ROOT, "%.8f", (Double) r.get("cosine")),
                    (Boolean) r.get("within_tolerance") ? "yes" : "NO"});
            }
            Table.print(out, table);
            out.println("(float32 tolerance |a-b| <= 1e-4 + 1e-4*|b|)");
        }
        return allOk ? 0 : 1;
    }

    private static HostTensor random(int size) {
        java.util.Random r = new java.util.Random(0);
        float[] v = new float[2 * 3 * size * size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return HostTensor.ofFloats(v, 2, 3, size, size);
    }
}
