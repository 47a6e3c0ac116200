package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.image.PreprocessingPipeline;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.nn.VitPresets;
import dev.visiontower.api.spi.BackendOptions;
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

/**
 * {@code visiontower bench}: throughput and latency of the vision tower on each backend, with the machine's float32
 * GEMM rate measured in the same run on the model's own MLP product shape, so results read as a fraction of what the
 * hardware gives.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark the vision tower: images/s, latency percentiles, peak memory, GFLOP/s and the fraction "
                + "of the best GEMM rate any available engine reaches on the model's MLP product shape.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "Model directory.")
        Path model;

        @Option(names = "--preset", paramLabel = "NAME",
                description = "Preset with random weights (no download): ${COMPLETION-CANDIDATES}",
                completionCandidates = PresetNames.class)
        String preset;
    }

    static final class PresetNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        PresetNames() {
            super(VitPresets.names());
        }
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--backends", paramLabel = "A,B", split = ",", description = "Backends (default: every available).")
    List<String> backends;

    @Option(names = "--batch", paramLabel = "N,...", split = ",", defaultValue = "1,8", description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "Intra-op threads (default: engine's).")
    int threads;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2", description = "Untimed passes per batch size.")
    int warmup;

    @Option(names = "--iters", paramLabel = "N", defaultValue = "5", description = "Timed passes per batch size.")
    int iters;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu or cuda[:N].")
    String device;

    @Option(names = "--dtype", paramLabel = "TYPE,...", split = ",", defaultValue = "float32",
            description = "Compute dtypes, each benchmarked on every backend: float32, bfloat16, float16, int8 "
                    + "(default: ${DEFAULT-VALUE}). A backend without a dtype is listed as unsupported.")
    List<String> dtypes;

    @Option(names = "--option", paramLabel = "KEY=VALUE",
            description = "Backend-specific option (repeat), e.g. tf32=true or gemm=own for jcuda.")
    Map<String, String> extra = new LinkedHashMap<>();

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--profile", description = "Also report the wall time of every operation and layer per pass "
            + "(eager backends: libtorch; a graph backend such as onnx records when called and computes at the end).")
    boolean profile;

    @Option(names = "--images", paramLabel = "DIR", description = "Also measure the whole pipeline (decode, "
            + "preprocess, forward) on these image files or folders, beside the forward-only rate.")
    List<Path> images;

    @Option(names = "--decode-threads", paramLabel = "N",
            description = "Decoding threads for --images (default: half the processors, at least 1).")
    Integer decodeThreads;

    @Mixin
    ImageOptions imageOptions;

    @Option(names = "--serve-clients", paramLabel = "N",
            description = "Also run the HTTP server on the first backend and dtype, batching up to the largest "
                    + "--batch, with N concurrent clients sending one 224 px PNG each per request; then one client "
                    + "alone for the single-request latency.")
    Integer serveClients;

    @Mixin
    VerboseOption verbose;

    @Override
    public Integer call() throws Exception {
        if (warmup < 0 || iters < 1 || batches.stream().anyMatch(b -> b < 1)) {
            throw new InvalidInputException("--warmup must be >= 0, --iters >= 1 and batch sizes >= 1");
        }
        List<String> names = backends;
        if (names == null || names.isEmpty()) {
            names = new ArrayList<>();
            for (Backends.Info i : Backends.list()) {
                if (i.available()) {
                    names.add(i.name());
                }
            }
        }
        List<DType> types = new ArrayList<>();
        for (String d : dtypes) {
            types.add(DType.parse(d.trim()));
        }
        var err = spec.commandLine().getErr();
        List<Path> files = images == null ? null : Inputs.imageFiles(images, System.in);
        int decoders = decodeThreads != null ? decodeThreads : PreprocessingPipeline.defaultThreads();
        if (decoders < 1) {
            throw new InvalidInputException("--decode-threads must be >= 1, got " + decoders);
        }
        VitConfig cfg = source.preset != null ? VitPresets.byName(source.preset) : null;

        // per dtype, the best GEMM rate any engine reaches on the model's MLP product shape, at the largest batch
        Map<String, Double> gemmByType = new LinkedHashMap<>();
        Map<String, Map<String, Double>> gemmBy = new LinkedHashMap<>();
        Map<String, String> descriptions = new LinkedHashMap<>();
        List<Map<String, Object>> results = new ArrayList<>();
        List<Map<String, Object>> unsupported = new ArrayList<>();
        Map<String, Object> serve = new LinkedHashMap<>();
        for (DType type : types) {
            BackendOptions opts = new BackendOptions(Device.parse(device), type, threads, extra);
            for (String name : names) {
                Backend opened;
                try {
                    opened = Backends.open(name, opts);
                } catch (dev.visiontower.api.UnsupportedCapabilityException e) {
                    Map<String, Object> u = new LinkedHashMap<>();
                    u.put("backend", name);
                    u.put("dtype", type.toString());
                    u.put("reason", e.getMessage());
                    unsupported.add(u);
                    err.printf(Locale.ROOT, "%s %s: unsupported (%s)%n", name, type, e.getMessage());
                    continue;
                }
                try (Backend closing = opened) {
                    BenchMeasure.resetPeakRss();
                    OpProfile prof = profile ? new OpProfile() : null;
                    Backend b = prof != null ? prof.wrap(opened) : opened;
                    err.println(b.description());
                    descriptions.put(name + " " + type, b.description());
                    VisionModel model = cfg != null ? VisionTransformer.load(cfg, RandomWeights.of(cfg, 0), b)
                            : Models.loadVision(source.model, b, LoadOptions.STRICT).model();
                    try {
                        VitConfig mc = model instanceof VisionTransformer ? ((VisionTransformer) model).config()
                                : null;
                        int size = model.imageSize();
                        if (mc != null) {
                            int maxBatch = batches.stream().max(Integer::compare).orElse(1);
                            int m = maxBatch * mc.tokens();
                            double rate = BenchMeasure.gemmRate(b, m, mc.width(), mc.mlpWidth());
                            gemmBy.computeIfAbsent(type.toString(), k -> new LinkedHashMap<>()).put(name, rate);
                            gemmByType.merge(type.toString(), rate, Math::max);
                            err.printf(Locale.ROOT, "%s %s: GEMM [%d, %d] x [%d, %d]^T: %.1f GFLOP/s%n", name, type,
                                    m, mc.width(), mc.mlpWidth(), mc.width(), rate);
                        }
                        if (serveClients != null && serve.isEmpty()) {
                            int maxBatch = batches.stream().max(Integer::compare).orElse(1);
                            serve.putAll(ServeBench.run(b, model, BenchMeasure.preprocessor(source.model, size), serveClients, maxBatch,
                                    Math.max(2, iters)));
                            serve.put("backend", name);
                            serve.put("dtype", type.toString());
                            serve.put("max_batch", maxBatch);
                            err.printf(Locale.ROOT, "%s %s serve: %d clients, %.2f images/s; one client: p50 %.1f "
                                    + "ms%n", name, type, serveClients, (Double) serve.get("images_per_second"),
                                    (Double) serve.get("single_request_p50_ms"));
                        }
                        for (int batch : batches) {
                            Map<String, Object> r = BenchMeasure.run(b, model, mc, size, batch, warmup, iters, prof);
                            results.add(r);
                            double forward = (Double) r.get("images_per_second");
                            err.printf(Locale.ROOT, "%s %s batch %d: %.2f images/s%n", name, type, batch, forward);
                            if (files != null) {
                                double rate = BenchMeasure.pipelineRate(b, model, BenchMeasure.preprocessor(source.model, size), files, batch,
                                        iters, decoders, imageOptions.load());
                                r.put("pipeline_images_per_second", rate);
                                r.put("pipeline_fraction_of_forward", rate / forward);
                                r.put("decode_threads", decoders);
                                err.printf(Locale.ROOT, "%s %s batch %d: pipeline over %d files, %d decoding "
                                        + "thread(s): %.2f images/s (%.0f%% of forward only)%n", name, type, batch,
                                        files.size(), decoders, rate, 100 * rate / forward);
                            }
                        }
                    } finally {
                        model.close();
                    }
                }
            }
        }
        for (Map<String, Object> r : results) {
            Object gf = r.get("gflops");
            Double gemm = gemmByType.get((String) r.get("dtype"));
            r.put("fraction_of_gemm", gf == null || gemm == null || gemm == 0 ? null : (Double) gf / gemm);
        }
        ServeBench.relate(serve, results);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("cpu", dev.visiontower.api.spi.CpuFeatures.current().toString());
        doc.put("openblas_coretype", System.getenv("OPENBLAS_CORETYPE"));
        doc.put("backends", descriptions);
        doc.put("gemm_gflops", gemmByType);
        doc.put("gemm_gflops_by_backend", gemmBy);
        doc.put("results", results);
        doc.put("unsupported", unsupported);
        if (!serve.isEmpty()) {
            doc.put("serve", serve);
        }
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        out.printf(Locale.ROOT, "CPU: %s; OPENBLAS_CORETYPE=%s%n", dev.visiontower.api.spi.CpuFeatures.current(),
                System.getenv().getOrDefault("OPENBLAS_CORETYPE", "(unset)"));
        for (Map.Entry<String, Double> e : gemmByType.entrySet()) {
            out.printf(Locale.ROOT, "GEMM rate %s (best engine, model's MLP shape): %.1f GFLOP/s%n", e.getKey(),
                    e.getValue());
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"BACKEND", "DTYPE", "BATCH", "IMAGES/S", "GFLOP/S", "OF GEMM", "OF PEAK", "P50 MS",
            "P90 MS", "P99 MS", "PEAK RSS MB", "PIPELINE IMG/S"});
        for (Map<String, Object> r : results) {
            @SuppressWarnings("unchecked")
            Map<String, Double> lat = (Map<String, Double>) r.get("latency_ms");
            rows.add(new String[] {(String) r.get("backend"), (String) r.get("dtype"), r.get("batch").toString(),
                String.format(Locale.ROOT, "%.2f", (Double) r.get("images_per_second")),
                r.get("gflops") == null ? "-" : String.format(Locale.ROOT, "%.1f", (Double) r.get("gflops")),
                r.get("fraction_of_gemm") == null ? "-"
                        : String.format(Locale.ROOT, "%.0f%%", 100 * (Double) r.get("fraction_of_gemm")),
                r.get("fraction_of_peak") == null ? "-"
                        : String.format(Locale.ROOT, "%.1f%%", 100 * (Double) r.get("fraction_of_peak")),
                String.format(Locale.ROOT, "%.1f", lat.get("p50")), String.format(Locale.ROOT, "%.1f", lat.get("p90")),
                String.format(Locale.ROOT, "%.1f", lat.get("p99")), r.get("peak_rss_mb").toString(),
                r.get("pipeline_images_per_second") == null ? "-" : String.format(Locale.ROOT, "%.2f (%.0f%%)",
                        (Double) r.get("pipeline_images_per_second"),
                        100 * (Double) r.get("pipeline_fraction_of_forward"))});
        }
        for (Map<String, Object> u : unsupported) {
            rows.add(new String[] {(String) u.get("backend"), (String) u.get("dtype"), "-", "unsupported", "-", "-", "-",
                "-", "-", "-", "-", "-"});
        }
        Table.print(out, rows);
        ServeBench.print(out, serve);
        for (Map<String, Object> r : results) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> p = (List<Map<String, Object>>) r.get("profile");
            if (p == null) {
                continue;
            }
            out.printf(Locale.ROOT, "%nProfile: %s %s batch %d (wall time per pass; layers include their operations)%n",
                    r.get("backend"), r.get("dtype"), r.get("batch"));
            List<String[]> prow = new ArrayList<>();
            prow.add(new String[] {"NAME", "CALLS", "MS", "SHARE"});
            for (Map<String, Object> e : p) {
                prow.add(new String[] {(String) e.get("name"),
                    String.format(Locale.ROOT, "%.0f", (Double) e.get("calls_per_pass")),
                    String.format(Locale.ROOT, "%.1f", (Double) e.get("ms_per_pass")),
                    String.format(Locale.ROOT, "%.1f%%", 100 * (Double) e.get("share"))});
            }
            Table.print(out, prow);
        }
        return 0;
    }
}
