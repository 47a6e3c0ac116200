package dev.visiontower.conformance;

import dev.visiontower.api.Activation;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.LayerFactory;
import dev.visiontower.api.nn.NormKind;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelDefinition;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Checks backends and model plugins, at four levels:
 * <ol>
 *   <li><b>op</b>: every {@link Ops} method against {@link ReferenceBackend} (float64) on random and edge inputs
 *       (large logits, tiny variances, odd head dimensions, non-square resampling);</li>
 *   <li><b>layer</b>: the backend's layers ({@link Backend#layers()}, fused or not) against the reference layers:
 *       patch embedding, pre-norm blocks with LayerNorm / RMSNorm, q/k norm, layer scale, each activation, a causal
 *       masked block, the MAP head;</li>
 *   <li><b>model</b>: whole models on every golden case found in the fixture folder, and any model directory
 *       passed in (third-party families included) against the reference backend;</li>
 *   <li><b>pair</b>: every pair of backends against each other on the same models.</li>
 * </ol>
 * Backends that cannot run here are reported as SKIP with their reason; nothing is counted as a pass that did not
 * run. Tolerances are those of {@link Tolerances}.
 */
public final class ConformanceKit {
    /** A vision golden case: fixture folder, io prefix, projected-output key (or empty), interpolation. */
    public record GoldenCase(String name, String prefix, String embedsKey, boolean interpolate) {
    }

    /** The vision cases of the shared golden set. */
    public static final List<GoldenCase> VISION_CASES = List.of(
            new GoldenCase("clip_vision", "", "image_embeds", false),
            new GoldenCase("clip_vision_interp", "", "image_embeds", true),
            new GoldenCase("clip_full", "vision.", "image_features", false),
            new GoldenCase("openclip_clip", "vision.", "image_features", false),
            new GoldenCase("siglip_vision", "", "", false),
            new GoldenCase("siglip_vision_interp", "", "", true),
            new GoldenCase("siglip_full", "vision.", "", false),
            new GoldenCase("internvit_300m", "", "", false),
            new GoldenCase("internvit_6b", "", "", false),
            new GoldenCase("internvl_projector", "vision.", "vit_embeds", false));

    /**
     * What to check.
     *
     * @param backends backend names (empty: every provider found)
     * @param golden   the golden fixture folder (cases in sub-folders), or null
     * @param models   extra model directories to check against the reference (e.g. a third-party plugin's)
     * @param options  how backends are opened
     */
    public record Options(List<String> backends, Path golden, List<Path> models, BackendOptions options) {
        public Options {
            backends = List.copyOf(backends);
            models = List.copyOf(models);
            options = options == null ? BackendOptions.defaults() : options;
        }
    }

    private final List<CheckResult> results = new ArrayList<>();
    private final ReferenceBackend reference = new ReferenceBackend();

    /** Runs the kit. */
    public static Report run(Options options) {
        return new ConformanceKit().runAll(options);
    }

    private Report runAll(Options o) {
        Map<String, Backend> open = new LinkedHashMap<>();
        List<Backends.Info> infos = Backends.list();
        List<String> names = new ArrayList<>(o.backends());
        if (names.isEmpty()) {
            infos.forEach(i -> names.add(i.name()));
        }
        for (String name : names) {
            Backends.Info info = infos.stream().filter(i -> i.name().equals(name)).findFirst().orElse(null);
            if (info == null) {
                results.add(CheckResult.skip(name, "backend", "no provider named '" + name + "' on the path"));
            } else if (!info.available()) {
                results.add(CheckResult.skip(name, "backend", info.availability().reason()));
            } else {
                try {
                    open.put(name, info.provider().open(o.options().withExtra(
                            Backends.checkedOptions(info.provider(), o.options().extra()))));
                } catch (RuntimeException e) {
                    results.add(CheckResult.skip(name, "backend", "cannot open: " + e.getMessage()));
                }
            }
        }
        try {
            for (Map.Entry<String, Backend> e : open.entrySet()) {
                opChecks(e.getKey(), e.getValue());
                errorChecks(e.getKey(), e.getValue());
                ownershipChecks(e.getKey(), e.getValue());
                layerChecks(e.getKey(), e.getValue());
            }
            Map<String, Map<String, Map<String, HostTensor>>> outputs = new LinkedHashMap<>();
            if (o.golden() != null) {
                for (GoldenCase c : VISION_CASES) {
                    goldenCase(o.golden(), c, open, outputs);
                }
            }
            if (o.golden() != null) {
                for (String[] c : DUAL_CASES) {
                    dualEncoderCase(o.golden(), c[0], Boolean.parseBoolean(c[1]), c[2], open);
                }
                trainStep(o.golden(), "train_step_clip", "clip_full", open);
                trainStep(o.golden(), "train_step_siglip", "siglip_full", open);
            }
            for (Path m : o.models()) {
                pluginModel(m, open, outputs);
            }
            pairs(open, outputs);
        } finally {
            open.values().forEach(Backend::close);
        }
        return new Report(results);
    }

    // ---- level 1: operations ----

    private final Random rnd = new Random(20261127);

    private HostTensor randn(double scale, long... shape) {
        float[] v = new float[(int) dev.visiontower.api.Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * scale);
        }
        return HostTensor.ofFloats(v, shape);
    }

    private HostTensor uniform(double lo, double hi, long... shape) {
        float[] v = new float[(int) dev.visiontower.api.Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + rnd.nextDouble() * (hi - lo));
        }
        return HostTensor.ofFloats(v, shape);
    }

    /** Runs {@code f} on the backend and on the reference with the same inputs and compares. */
    private void compareOp(String backendName, Backend b, String check, Function<Backend, Tensor> f) {
        try (TensorScope s1 = b.newScope(); TensorScope s2 = reference.newScope()) {
            HostTensor got;
            try {
                got = f.apply(b).toHost();
            } catch (dev.visiontower.api.UnsupportedCapabilityException e) {
                results.add(new CheckResult(backendName, check, Outcome.UNSUPPORTED, e.getMessage(), Double.NaN,
                        Double.NaN));
                return;
            }
            HostTensor want = f.apply(reference).toHost();
            record(backendName, check, got, want, b.tolerance(), Double.NEGATIVE_INFINITY);
        } catch (RuntimeException e) {
            results.add(new CheckResult(backendName, check, Outcome.FAIL, e.getClass().getSimpleName() + ": "
                    + e.getMessage(), Double.NaN, Double.NaN));
        }
    }

    /** Dual-encoder golden cases: name, whether the text has an attention mask, io key of the text features. */
    private static final String[][] DUAL_CASES = {{"clip_full", "true", "text_features"},
        {"openclip_clip", "false", "text_features"}, {"siglip_full", "false", "text.pooler_output"}};

    /**
     * Tensor ownership, which every backend must get right: closing twice is harmless, a closed tensor refuses use,
     * and a forward pass inside a scope leaves nothing behind.
     */
    private void ownershipChecks(String name, Backend b) {
        try {
            Tensor t = b.fromHost(randn(1, 2, 3));
            t.close();
            t.close();
            results.add(new CheckResult(name, "ownership.closeTwice", Outcome.PASS, "", Double.NaN, Double.NaN));
            RuntimeException e = thrown(b, k -> t.toHost());
            boolean ok = e instanceof IllegalStateException;
            results.add(new CheckResult(name, "ownership.useAfterClose", ok ? Outcome.PASS : Outcome.FAIL,
                    ok ? e.getMessage() : "expected IllegalStateException, got " + e, Double.NaN, Double.NaN));
        } catch (RuntimeException e) {
            results.add(new CheckResult(name, "ownership.closeTwice", Outcome.FAIL, e.toString(), Double.NaN,
                    Double.NaN));
        }
        VitConfig cfg = VitConfig.builder().imageSize(16).patchSize(8).width(16).depth(1).heads(2).mlpWidth(32)
                .projectionDim(8).build();
        long before = b.liveTensors();
        try (VisionModel m = VisionTransformer.load(cfg, RandomWeights.of(cfg, 3), b)) {
            long loaded = b.liveTensors();
            try (TensorScope s = b.newScope()) {
                m.forward(b.fromHost(randn(1, 2, 3, 16, 16)), ForwardOptions.DEFAULT).embedding().toHost();
            }
            long after = b.liveTensors();
            results.add(new CheckResult(name, "ownership.forwardLeavesNothing", after == loaded ? Outcome.PASS
                    : Outcome.FAIL, (after - loaded) + " tensors left by a forward pass", Double.NaN, Double.NaN));
        } catch (RuntimeException e) {
            results.add(new CheckResult(name, "ownership.forwardLeavesNothing", Outcome.FAIL, e.toString(),
                    Double.NaN, Double.NaN));
        }
        long closed = b.liveTensors();
        results.add(new CheckResult(name, "ownership.modelCloseReleases", closed == before ? Outcome.PASS
                : Outcome.FAIL, (closed - before) + " tensors left after closing the model", Double.NaN, Double.NaN));
    }

    /** A dual-encoder golden case: text tower, both embeddings, logits and the family's loss. */
    private void dualEncoderCase(Path golden, String caseName, boolean mask, String featuresKey,
                                 Map<String, Backend> open) {
        Path dir = golden.resolve(caseName);
        String check = "dual." + caseName;
        if (!Files.isRegularFile(dir.resolve("io.safetensors"))) {
            open.keySet().forEach(n -> results.add(CheckResult.skip(n, check, "fixture " + dir + " not present")));
            return;
        }
        for (Map.Entry<String, Backend> e : open.entrySet()) {
            Backend b = e.getValue();
            try (Checkpoint ckpt = Checkpoint.open(dir); Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
                ModelDefinition d;
                try {
                    d = Models.detect(ckpt).definition();
                } catch (RuntimeException ex) {
                    results.add(CheckResult.skip(e.getKey(), check, "no family on the path loads it: "
                            + ex.getMessage()));
                    continue;
                }
                try (dev.visiontower.api.nn.TextModel text = d.loadText(ckpt, b, LoadOptions.STRICT).orElseThrow();
                     VisionModel vision = d.loadVision(ckpt, b, LoadOptions.STRICT);
                     dev.visiontower.api.nn.ContrastiveHead head = d.loadHead(ckpt, b).orElseThrow();
                     TensorScope s = b.newScope()) {
                    Ops ops = b.ops();
                    Tensor ids = b.fromHost(io.read("input_ids"));
                    Tensor am = mask ? b.fromHost(io.read("attention_mask")) : null;
                    dev.visiontower.api.nn.TextOutput t = text.forward(ids, am, false);
                    Tensor img = ops.l2Normalize(vision.forward(b.fromHost(io.read("pixel_values")),
                            ForwardOptions.DEFAULT).embedding(), -1, 1e-12);
                    Tensor txt = ops.l2Normalize(t.textEmbeds(), -1, 1e-12);
                    Tensor logits = head.logitsPerImage(img, txt);
                    Map<String, HostTensor> got = new LinkedHashMap<>();
                    Map<String, HostTensor> want = new LinkedHashMap<>();
                    got.put("text_features", t.textEmbeds().toHost());
                    want.put("text_features", io.read(featuresKey));
                    got.put("text_embeds", txt.toHost());
                    want.put("text_embeds", io.read("text_embeds"));
                    compareOutputs(e.getKey(), check, got, want, b.tolerance(), Tolerances.minCosine(b.dtype()));
                    // logits of a tiny random model are small: their tolerance, not the embeddings' cosine rule
                    Map<String, HostTensor> gotHead = new LinkedHashMap<>();
                    Map<String, HostTensor> wantHead = new LinkedHashMap<>();
                    gotHead.put("logits_per_image", logits.toHost());
                    wantHead.put("logits_per_image", io.read("logits_per_image"));
                    gotHead.put("loss", head.loss(img, txt).toHost());
                    wantHead.put("loss", io.read("loss"));
                    compareOutputs(e.getKey(), check + ".head", gotHead, wantHead, b.tolerance(),
                            Double.NEGATIVE_INFINITY);
                }
            } catch (dev.visiontower.api.UnsupportedCapabilityException ex) {
                results.add(new CheckResult(e.getKey(), check, Outcome.UNSUPPORTED, ex.getMessage(), Double.NaN,
                        Double.NaN));
            } catch (RuntimeException ex) {
                results.add(new CheckResult(e.getKey(), check, Outcome.FAIL, ex.getClass().getSimpleName() + ": "
                        + ex.getMessage(), Double.NaN, Double.NaN));
            }
        }
    }

    /**
     * The family's loss and every gradient of one training step against torch's, on backends that train (float32
     * only: gradients at {@code 1e-5 + 1e-4|b|}); others are UNSUPPORTED.
     */
    private void trainStep(Path golden, String caseName, String modelCase, Map<String, Backend> open) {
        Path io = golden.resolve(caseName).resolve("io.safetensors");
        String check = "train." + caseName;
        if (!Files.isRegularFile(io)) {
            open.keySet().forEach(n -> results.add(CheckResult.skip(n, check, "fixture " + io + " not present")));
            return;
        }
        for (Map.Entry<String, Backend> e : open.entrySet()) {
            Backend b = e.getValue();
            if (!b.has(dev.visiontower.api.spi.Capability.TRAINING)
                    || b.dtype() != dev.visiontower.api.DType.FLOAT32) {
                results.add(new CheckResult(e.getKey(), check, Outcome.UNSUPPORTED, "the backend does not train in "
                        + b.dtype(), Double.NaN, Double.NaN));
                continue;
            }
            try (Checkpoint ckpt = Checkpoint.open(golden.resolve(modelCase)); Safetensors s = Safetensors.open(io);
                 dev.visiontower.api.train.TrainableDualEncoder model = Models.detect(ckpt).definition()
                         .loadForTraining(ckpt, b)) {
                var trainer = new dev.visiontower.api.train.ContrastiveTrainer(model, b,
                        dev.visiontower.api.train.AdamW.Betas.CLIP, 0.2);
                var g = trainer.gradients(s.read("pixel_values"), new dev.visiontower.api.text.Encoding(
                        s.read("input_ids"), s.names().contains("attention_mask") ? s.read("attention_mask") : null));
                Tolerance grad = new Tolerance(1e-5, 1e-4);
                List<String> bad = new ArrayList<>();
                float wantLoss = s.read("loss").floats()[0];
                if (Math.abs(g.loss() - wantLoss) > 1e-5 + 1e-4 * Math.abs(wantLoss)) {
                    bad.add("loss " + g.loss() + " vs " + wantLoss);
                }
                int n = 0;
                for (Map.Entry<String, HostTensor> t : model.toCheckpoint(g.byParameter()).entrySet()) {
                    Tolerance.Comparison c = grad.compare(t.getValue(), s.read("grad." + t.getKey()));
                    n++;
                    if (!c.ok()) {
                        bad.add(t.getKey() + ": " + c.message());
                    }
                }
                results.add(new CheckResult(e.getKey(), check, bad.isEmpty() ? Outcome.PASS : Outcome.FAIL,
                        bad.isEmpty() ? "loss and " + n + " gradients" : String.join("; ", bad), Double.NaN,
                        Double.NaN));
            } catch (RuntimeException ex) {
                results.add(new CheckResult(e.getKey(), check, Outcome.FAIL, ex.getClass().getSimpleName() + ": "
                        + ex.getMessage(), Double.NaN, Double.NaN));
            }
        }
    }

    /**
     * The same mistake must give the same error on every backend: each bad call is made on the backend and on the
     * reference, and the exception type and message must be equal (both come from {@code ShapeRules} and
     * {@code Operands}, before any native work). A backend that lets a native library find the mistake fails here.
     */
    private void errorChecks(String name, Backend b) {
        Map<String, Function<Backend, Object>> calls = new LinkedHashMap<>();
        calls.put("linear", k -> k.ops().linear(k.fromHost(randn(1, 2, 3)), k.fromHost(randn(1, 4, 5)), null));
        calls.put("matmul", k -> k.ops().matmul(k.fromHost(randn(1, 2, 3)), k.fromHost(randn(1, 4, 5))));
        calls.put("add", k -> k.ops().add(k.fromHost(randn(1, 2, 3)), k.fromHost(randn(1, 4))));
        calls.put("attention", k -> k.ops().attention(k.fromHost(randn(1, 1, 2, 3, 4)),
                k.fromHost(randn(1, 1, 2, 3, 5)), k.fromHost(randn(1, 1, 2, 3, 4)), null, false, 0.5));
        calls.put("reshape", k -> k.ops().reshape(k.fromHost(randn(1, 2, 3)), 4, 2));
        calls.put("permute", k -> k.ops().permute(k.fromHost(randn(1, 2, 3)), 0, 0));
        calls.put("narrow", k -> k.ops().narrow(k.fromHost(randn(1, 2, 3)), 1, 2, 2));
        calls.put("concat", k -> k.ops().concat(List.of(k.fromHost(randn(1, 2, 3)), k.fromHost(randn(1, 2, 4))), 0));
        calls.put("expand", k -> k.ops().expand(k.fromHost(randn(1, 2, 3)), 4, 3));
        calls.put("patchEmbed", k -> k.ops().patchEmbed(k.fromHost(randn(1, 1, 2, 8, 8)),
                k.fromHost(randn(1, 4, 3, 4, 4)), null, 4));
        calls.put("layerNorm", k -> k.ops().layerNorm(k.fromHost(randn(1, 2, 3)), k.fromHost(randn(1, 4)),
                k.fromHost(randn(1, 4)), 1e-5));
        calls.put("softmax", k -> k.ops().softmax(k.fromHost(randn(1, 2, 3)), 5));
        calls.put("diagonal", k -> k.ops().diagonal(k.fromHost(randn(1, 2, 3))));
        calls.put("gatherRows", k -> k.ops().gatherRows(k.fromHost(randn(1, 2, 3, 4)),
                k.fromHost(HostTensor.ofLongs(new long[] {0, 1, 2}, 3))));
        for (Map.Entry<String, Function<Backend, Object>> c : calls.entrySet()) {
            String check = "error." + c.getKey();
            RuntimeException want = thrown(reference, c.getValue());
            RuntimeException got = thrown(b, c.getValue());
            sameError(name, check, got, want);
        }
        // a tensor of another backend
        try (TensorScope s1 = b.newScope(); TensorScope s2 = reference.newScope()) {
            Tensor foreign = reference.fromHost(randn(1, 2, 3));
            RuntimeException got = thrown(b, k -> k.ops().add(k.fromHost(randn(1, 2, 3)), foreign));
            sameError(name, "error.foreignTensor", got,
                    new IllegalArgumentException(dev.visiontower.api.spi.Operands.foreign(b, foreign)));
        }
    }

    private static RuntimeException thrown(Backend k, Function<Backend, Object> call) {
        try (TensorScope s = k.newScope()) {
            Object r = call.apply(k);
            if (r instanceof Tensor t) {
                t.toHost(); // graph backends report at the latest here
            }
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private void sameError(String name, String check, RuntimeException got, RuntimeException want) {
        String w = want == null ? "no error" : want.getClass().getSimpleName() + ": " + want.getMessage();
        String g = got == null ? "no error" : got.getClass().getSimpleName() + ": " + got.getMessage();
        boolean ok = want != null && got != null && got.getClass() == want.getClass()
                && java.util.Objects.equals(got.getMessage(), want.getMessage());
        results.add(new CheckResult(name, check, ok ? Outcome.PASS : Outcome.FAIL, ok ? g : "got " + g + "; expected "
                + w, Double.NaN, Double.NaN));
    }

    private void record(String backend, String check, HostTensor got, HostTensor want, Tolerance tol,
                        double minCosine) {
        Tolerance.Comparison c = tol.compare(got, want);
        boolean ok = c.ok() && !(c.cosine() < minCosine);
        results.add(new CheckResult(backend, check, ok ? Outcome.PASS : Outcome.FAIL, c.message(), c.maxAbs(),
                c.cosine()));
    }

    private void opChecks(String name, Backend b) {
        HostTensor x = randn(1, 3, 5, 12);
        HostTensor w = randn(0.3, 7, 12);
        HostTensor bias = randn(0.2, 7);
        compareOp(name, b, "op.linear", k -> k.ops().linear(k.fromHost(x), k.fromHost(w), k.fromHost(bias)));
        HostTensor m1 = randn(1, 2, 3, 4, 5);
        HostTensor m2 = randn(1, 2, 3, 5, 6);
        compareOp(name, b, "op.matmul.batched", k -> k.ops().matmul(k.fromHost(m1), k.fromHost(m2)));
        HostTensor row = randn(1, 12);
        compareOp(name, b, "op.add.broadcast", k -> k.ops().add(k.fromHost(x), k.fromHost(row)));
        compareOp(name, b, "op.sub", k -> k.ops().sub(k.fromHost(x), k.fromHost(x)));
        compareOp(name, b, "op.mul.broadcast", k -> k.ops().mul(k.fromHost(x), k.fromHost(row)));
        compareOp(name, b, "op.scale", k -> k.ops().scale(k.fromHost(x), -0.125));
        HostTensor tiny = randn(1e-3, 4, 9);
        HostTensor nw = uniform(0.5, 1.5, 9);
        HostTensor nb = randn(0.2, 9);
        compareOp(name, b, "op.layerNorm.tinyVariance", k -> k.ops().layerNorm(k.fromHost(tiny), k.fromHost(nw),
                k.fromHost(nb), 1e-5));
        compareOp(name, b, "op.rmsNorm.tinyValues", k -> k.ops().rmsNorm(k.fromHost(tiny), k.fromHost(nw), 1e-6));
        for (Activation a : Activation.values()) {
            HostTensor ax = randn(3, 4, 16);
            compareOp(name, b, "op.activation." + a.name().toLowerCase(java.util.Locale.ROOT),
                    k -> k.ops().activation(k.fromHost(ax), a));
        }
        HostTensor logits = randn(300, 3, 7);
        compareOp(name, b, "op.softmax.largeLogits", k -> k.ops().softmax(k.fromHost(logits), -1));
        compareOp(name, b, "op.logSoftmax.largeLogits", k -> k.ops().logSoftmax(k.fromHost(logits), 0));
        compareOp(name, b, "op.logSigmoid.largeLogits", k -> k.ops().logSigmoid(k.fromHost(logits)));
        HostTensor ex = randn(2, 5, 3);
        compareOp(name, b, "op.exp", k -> k.ops().exp(k.fromHost(ex)));
        HostTensor q = randn(1, 2, 3, 5, 7);
        HostTensor kk = randn(1, 2, 3, 6, 7);
        HostTensor v = randn(1, 2, 3, 6, 7);
        double sc = 1 / Math.sqrt(7);
        compareOp(name, b, "op.attention.oddHeadDim", k -> k.ops().attention(k.fromHost(q), k.fromHost(kk),
                k.fromHost(v), null, false, sc));
        HostTensor qs = randn(1, 2, 3, 6, 7);
        compareOp(name, b, "op.attention.causal", k -> k.ops().attention(k.fromHost(qs), k.fromHost(kk),
                k.fromHost(v), null, true, sc));
        HostTensor keep = HostTensor.ofLongs(new long[] {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1}, 2, 6);
        compareOp(name, b, "op.attention.paddingMaskAndCausal", k -> k.ops().attention(k.fromHost(qs),
                k.fromHost(kk), k.fromHost(v), k.ops().paddingMask(k.fromHost(keep)), true, sc));
        HostTensor px = randn(1, 2, 3, 10, 13);
        HostTensor pw = randn(0.2, 6, 3, 4, 4);
        HostTensor pb = randn(0.1, 6);
        compareOp(name, b, "op.patchEmbed.remainderDropped", k -> k.ops().patchEmbed(k.fromHost(px), k.fromHost(pw),
                k.fromHost(pb), 4));
        compareOp(name, b, "op.reshape", k -> k.ops().reshape(k.fromHost(x), -1, 6, 2));
        compareOp(name, b, "op.permute", k -> k.ops().permute(k.fromHost(m1), 0, 2, 1, 3));
        compareOp(name, b, "op.narrow", k -> k.ops().narrow(k.fromHost(x), 1, 1, 3));
        compareOp(name, b, "op.concat", k -> k.ops().concat(List.of(k.fromHost(x), k.fromHost(x)), 1));
        HostTensor one = randn(1, 1, 1, 12);
        compareOp(name, b, "op.expand", k -> k.ops().expand(k.fromHost(one), 4, -1, 12));
        compareOp(name, b, "op.mean", k -> k.ops().mean(k.fromHost(x), 1));
        compareOp(name, b, "op.l2Normalize", k -> k.ops().l2Normalize(k.fromHost(x), -1, 1e-12));
        HostTensor grid = randn(1, 1, 4, 5, 5);
        compareOp(name, b, "op.resizeBicubic.up", k -> k.ops().resizeBicubic(k.fromHost(grid), 8, 7));
        compareOp(name, b, "op.resizeBicubic.down", k -> k.ops().resizeBicubic(k.fromHost(grid), 3, 2));
        HostTensor table = randn(1, 11, 6);
        HostTensor ids = HostTensor.ofLongs(new long[] {3, 0, 10, 5, 5, 1}, 2, 3);
        compareOp(name, b, "op.embedding", k -> k.ops().embedding(k.fromHost(table), k.fromHost(ids)));
        compareOp(name, b, "op.argmax", k -> k.ops().argmax(k.fromHost(ids), -1));
        compareOp(name, b, "op.equalTo", k -> k.ops().equalTo(k.fromHost(ids), 5));
        HostTensor idx = HostTensor.ofLongs(new long[] {2, 0, 4}, 3);
        compareOp(name, b, "op.gatherRows", k -> k.ops().gatherRows(k.fromHost(x), k.fromHost(idx)));
        compareOp(name, b, "op.sum", k -> k.ops().sum(k.fromHost(x)));
        HostTensor sq = randn(1, 5, 5);
        compareOp(name, b, "op.diagonal", k -> k.ops().diagonal(k.fromHost(sq)));
    }

    // ---- level 2: layers ----

    /** Random weights with non-trivial norms and biases, by canonical name. */
    private Map<String, HostTensor> layerWeights(Map<String, long[]> shapes) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String n = e.getKey();
            boolean scaleLike = (n.contains("norm") && n.endsWith("weight")) || n.matches(".*ls\\d");
            out.put(n, scaleLike ? uniform(0.5, 1.5, e.getValue())
                    : randn(n.endsWith("bias") ? 0.2 : 1.0 / Math.sqrt(e.getValue()[e.getValue().length - 1]),
                    e.getValue()));
        }
        return out;
    }

    private static Parameters upload(Backend b, Map<String, HostTensor> weights) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        weights.forEach((k, v) -> t.put(k, b.parameter(k, v)));
        return new Parameters(t);
    }

    private void layerCheck(String name, Backend b, String check, Map<String, HostTensor> weights,
                            Function<Backend, Function<Parameters, Tensor>> f) {
        try (Parameters pb = upload(b, weights); Parameters pr = upload(reference, weights)) {
            compareOp(name, b, check, k -> f.apply(k).apply(k == reference ? pr : pb));
        }
    }

    private void layerChecks(String name, Backend b) {
        record Variant(String label, BlockSpec spec) {
        }
        List<Variant> variants = List.of(
                new Variant("clip", new BlockSpec(32, 4, 64, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5, false,
                        false, true, false)),
                new Variant("siglip", new BlockSpec(32, 2, 48, Activation.GELU_TANH, NormKind.LAYER_NORM, 1e-6, false,
                        false, true, false)),
                new Variant("internvit300m", new BlockSpec(48, 3, 64, Activation.GELU, NormKind.LAYER_NORM, 1e-6,
                        true, false, true, false)),
                new Variant("internvit6b", new BlockSpec(56, 7, 64, Activation.GELU, NormKind.RMS_NORM, 1e-6, true,
                        true, false, false)),
                new Variant("textCausal", new BlockSpec(32, 2, 64, Activation.QUICK_GELU, NormKind.LAYER_NORM, 1e-5,
                        false, false, true, true)));
        for (Variant v : variants) {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            v.spec().parameterShapes("", shapes);
            HostTensor x = randn(1, 2, 9, v.spec().width());
            HostTensor keep = HostTensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
                    2, 9);
            layerCheck(name, b, "layer.block." + v.label(), layerWeights(shapes), k -> p -> {
                Tensor mask = v.spec().causal() ? k.ops().paddingMask(k.fromHost(keep)) : null;
                LayerFactory lf = k == reference ? LayerFactory.DEFAULT : k.layers();
                return lf.block(v.spec(), p, k.ops()).forward(k.fromHost(x), mask);
            });
        }
        BlockSpec head = new BlockSpec(32, 2, 48, Activation.GELU_TANH, NormKind.LAYER_NORM, 1e-6, false, false, true,
                false);
        Map<String, long[]> hs = new LinkedHashMap<>();
        hs.put("probe", new long[] {32});
        for (String p : new String[] {"q", "k", "v", "proj"}) {
            hs.put("attn." + p + ".weight", new long[] {32, 32});
            hs.put("attn." + p + ".bias", new long[] {32});
        }
        hs.put("norm.weight", new long[] {32});
        hs.put("norm.bias", new long[] {32});
        hs.put("mlp.fc1.weight", new long[] {48, 32});
        hs.put("mlp.fc1.bias", new long[] {48});
        hs.put("mlp.fc2.weight", new long[] {32, 48});
        hs.put("mlp.fc2.bias", new long[] {32});
        HostTensor tokens = randn(1, 2, 16, 32);
        layerCheck(name, b, "layer.mapHead", layerWeights(hs), k -> p -> {
            LayerFactory lf = k == reference ? LayerFactory.DEFAULT : k.layers();
            return lf.attentionPool(head, p, k.ops()).pool(k.fromHost(tokens));
        });
        Map<String, long[]> pe = new LinkedHashMap<>();
        pe.put("weight", new long[] {16, 3, 8, 8});
        pe.put("bias", new long[] {16});
        HostTensor pixels = randn(1, 2, 3, 24, 16);
        layerCheck(name, b, "layer.patchEmbedding", layerWeights(pe), k -> p -> {
            LayerFactory lf = k == reference ? LayerFactory.DEFAULT : k.layers();
            return lf.patchEmbedding(8, p, k.ops()).embed(k.fromHost(pixels));
        });
    }

    // ---- level 3: whole models ----

    private static Map<String, HostTensor> outputs(VisionOutput out) {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("last_hidden_state", out.lastHiddenState().toHost());
        if (out.poolerOutput() != null) {
            m.put("pooler_output", out.poolerOutput().toHost());
        }
        if (out.imageEmbeds() != null) {
            m.put("image_embeds", out.imageEmbeds().toHost());
        }
        return m;
    }

    private void goldenCase(Path golden, GoldenCase c, Map<String, Backend> open,
                            Map<String, Map<String, Map<String, HostTensor>>> all) {
        Path dir = golden.resolve(c.name());
        String check = "model." + c.name();
        if (!Files.isRegularFile(dir.resolve("io.safetensors"))) {
            open.keySet().forEach(n -> results.add(CheckResult.skip(n, check, "fixture " + dir + " not present")));
            return;
        }
        try (Checkpoint ckpt = Checkpoint.open(dir); Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
            ModelDefinition family;
            try {
                family = Models.detect(ckpt).definition();
            } catch (RuntimeException e) {
                open.keySet().forEach(n -> results.add(CheckResult.skip(n, check, "no family on the path loads it: "
                        + e.getMessage())));
                return;
            }
            HostTensor pixels = io.read("pixel_values");
            Map<String, HostTensor> expected = new LinkedHashMap<>();
            expected.put("last_hidden_state", io.read(c.prefix() + "last_hidden_state"));
            if (io.contains(c.prefix() + "pooler_output")) {
                expected.put("pooler_output", io.read(c.prefix() + "pooler_output"));
            }
            if (!c.embedsKey().isEmpty()) {
                expected.put("image_embeds", io.read(c.embedsKey()));
            }
            for (Map.Entry<String, Backend> e : open.entrySet()) {
                Map<String, HostTensor> got = runModel(e.getKey(), e.getValue(), family, ckpt, pixels, c.interpolate(),
                        check);
                if (got == null) {
                    continue;
                }
                all.computeIfAbsent(c.name(), k -> new LinkedHashMap<>()).put(e.getKey(), got);
                compareOutputs(e.getKey(), check, got, expected, e.getValue().tolerance(),
                        Tolerances.minCosine(e.getValue().dtype()));
            }
        }
    }

    private Map<String, HostTensor> runModel(String name, Backend b, ModelDefinition family, Checkpoint ckpt,
                                             HostTensor pixels, boolean interpolate, String check) {
        try (VisionModel m = family.loadVision(ckpt, b, LoadOptions.STRICT); TensorScope s = b.newScope()) {
            return outputs(m.forward(b.fromHost(pixels), new ForwardOptions(interpolate, false)));
        } catch (dev.visiontower.api.UnsupportedCapabilityException e) {
            results.add(new CheckResult(name, check, Outcome.UNSUPPORTED, e.getMessage(), Double.NaN, Double.NaN));
        } catch (RuntimeException e) {
            results.add(new CheckResult(name, check, Outcome.FAIL, e.getClass().getSimpleName() + ": "
                    + e.getMessage(), Double.NaN, Double.NaN));
        }
        return null;
    }

    private void compareOutputs(String backend, String check, Map<String, HostTensor> got,
                                Map<String, HostTensor> want, Tolerance tol, double minCosine) {
        compareOutputs(backend, check, "", got, want, tol, minCosine);
    }

    private void compareOutputs(String backend, String check, String detailPrefix, Map<String, HostTensor> got,
                                Map<String, HostTensor> want, Tolerance tol, double minCosine) {
        boolean ok = true;
        double maxAbs = 0;
        double minCos = 1;
        StringBuilder detail = new StringBuilder(detailPrefix);
        for (Map.Entry<String, HostTensor> e : want.entrySet()) {
            HostTensor g = got.get(e.getKey());
            if (g == null) {
                ok = false;
                detail.append(e.getKey()).append(": missing; ");
                continue;
            }
            Tolerance.Comparison c = tol.compare(g, e.getValue());
            boolean pooled = !e.getKey().equals("last_hidden_state");
            boolean good = c.ok() && !(pooled && c.cosine() < minCosine);
            ok &= good;
            maxAbs = Math.max(maxAbs, c.maxAbs());
            minCos = Math.min(minCos, c.cosine());
            detail.append(e.getKey()).append(": ").append(c.message()).append("; ");
        }
        results.add(new CheckResult(backend, check, ok ? Outcome.PASS : Outcome.FAIL, detail.toString().trim(),
                maxAbs, minCos));
    }

    /** A model directory of any family on the path (third-party plugins included), against the reference backend. */
    private void pluginModel(Path dir, Map<String, Backend> open, Map<String, Map<String, Map<String, HostTensor>>> all) {
        String check = "model." + dir.getFileName();
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Models.Match match = Models.detect(ckpt);
            ModelDefinition family = match.definition();
            String found = "family " + match.family().name() + " (" + match.format() + "); ";
            HostTensor pixels;
            try (VisionModel ref = family.loadVision(ckpt, reference, LoadOptions.STRICT)) {
                int size = ref.imageSize();
                pixels = randn(1, 2, 3, size, size);
                Map<String, HostTensor> want;
                try (TensorScope s = reference.newScope()) {
                    want = outputs(ref.forward(reference.fromHost(pixels), ForwardOptions.DEFAULT));
                }
                for (Map.Entry<String, Backend> e : open.entrySet()) {
                    Map<String, HostTensor> got = runModel(e.getKey(), e.getValue(), family, ckpt, pixels, false,
                            check);
                    if (got != null) {
                        all.computeIfAbsent(dir.getFileName().toString(), k -> new LinkedHashMap<>())
                                .put(e.getKey(), got);
                        compareOutputs(e.getKey(), check, found, got, want, e.getValue().tolerance(),
                                Tolerances.minCosine(e.getValue().dtype()));
                    }
                }
            }
        } catch (RuntimeException e) {
            open.keySet().forEach(n -> results.add(new CheckResult(n, check, Outcome.FAIL, e.getClass().getSimpleName()
                    + ": " + e.getMessage(), Double.NaN, Double.NaN)));
        }
    }

    // ---- level 4: backend pairs ----

    private void pairs(Map<String, Backend> open, Map<String, Map<String, Map<String, HostTensor>>> all) {
        List<String> names = new ArrayList<>(open.keySet());
        for (Map.Entry<String, Map<String, Map<String, HostTensor>>> model : all.entrySet()) {
            for (int i = 0; i < names.size(); i++) {
                for (int j = i + 1; j < names.size(); j++) {
                    Map<String, HostTensor> a = model.getValue().get(names.get(i));
                    Map<String, HostTensor> b = model.getValue().get(names.get(j));
                    String pair = names.get(i) + "~" + names.get(j);
                    if (a == null || b == null) {
                        results.add(CheckResult.skip(pair, "pair." + model.getKey(), "one side did not run"));
                        continue;
                    }
                    Tolerance ti = open.get(names.get(i)).tolerance();
                    Tolerance tj = open.get(names.get(j)).tolerance();
                    Tolerance tol = ti.atol() >= tj.atol() ? ti : tj; // the looser of the two
                    compareOutputs(pair, "pair." + model.getKey(), a, b, tol,
                            Tolerances.minCosine(open.get(names.get(i)).dtype()));
                }
            }
        }
    }
}
