package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.DType;
import dev.visiontower.api.UnsupportedCapabilityException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;
import dev.visiontower.api.train.AdamW;
import dev.visiontower.api.train.CheckpointWriter;
import dev.visiontower.api.train.ContrastiveTrainer;
import dev.visiontower.api.train.TrainableDualEncoder;
import dev.visiontower.api.train.TrainableParameter;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** {@code visiontower train}: contrastive training of a dual encoder with its family's loss. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a CLIP or SigLIP dual encoder on an image-caption folder with the family's loss "
                + "(AdamW, warm-up + cosine schedule, gradient clipping); writes Hugging Face-layout checkpoints.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--family", paramLabel = "NAME", description = "clip or siglip (default: the --init model's).")
    String family;

    static final class Architecture {
        @Option(names = "--model-config", paramLabel = "FILE", description = "Hugging Face config (CLIPConfig) of a new model.")
        Path modelConfig;

        @Option(names = "--preset", paramLabel = "NAME", description = "Architecture of a new model: shapes-clip or shapes-siglip.")
        String preset;

        @Option(names = "--init", paramLabel = "DIR", description = "Start from this checkpoint.")
        Path init;

        @Option(names = "--resume", paramLabel = "DIR", description = "Continue the run whose --output this was.")
        Path resume;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Architecture arch;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Image folder with captions.jsonl (or DIR/train and DIR/heldout).")
    Path data;

    @Option(names = "--output", paramLabel = "DIR", description = "Checkpoint directory (required unless --resume).")
    Path output;

    @Option(names = "--epochs", defaultValue = "10", paramLabel = "N", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", paramLabel = "N", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "5e-4", paramLabel = "X", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", defaultValue = "100", paramLabel = "N", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--weight-decay", defaultValue = "0.2", paramLabel = "X", description = "Decoupled weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--clip-grad", defaultValue = "1.0", paramLabel = "X", description = "Global gradient-norm limit, 0 = none (default: ${DEFAULT-VALUE}).")
    double clipGrad;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEV", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "P", description = "fp32, or bf16: autocast (matrix products and attention in bfloat16, weights, gradients "
            + "and optimizer state in float32).")
    String precision;

    @Option(names = "--grad-checkpointing", description = "Keep only each block's input and recompute the blocks in the backward pass: "
            + "activation memory of one block instead of the towers, about a third more computation.")
    boolean gradCheckpointing;

    @Option(names = "--backend", paramLabel = "NAME", description = "Backend (must train; default: the selection rules).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "Intra-op threads.")
    int threads;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces on errors.")
    boolean verbose;

    private final ObjectMapper json = new ObjectMapper();
    private final List<String> metrics = new ArrayList<>();
    private final List<double[]> lossCurve = new ArrayList<>();
    private final List<double[]> accCurve = new ArrayList<>();

    /** The demo architecture: a small CLIP for 64-pixel images and short captions. */
    /** The demo CLIP: ViT 64 px / patch 8 / width 96 / 4 layers, text width 64 / 2 layers; vocabulary set later. */
    static ObjectNode shapesClip(int contextLength) {
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("projection_dim", 64);
        cfg.put("logit_scale_init_value", Math.log(1 / 0.07));
        ObjectNode v = cfg.putObject("vision_config");
        v.put("hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 4)
                .put("num_attention_heads", 4).put("image_size", 64).put("patch_size", 8)
                .put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5);
        ObjectNode t = cfg.putObject("text_config");
        t.put("hidden_size", 64).put("intermediate_size", 256).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("max_position_embeddings", contextLength)
                .put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5).put("pad_token_id", 0);
        return cfg;
    }

    /**
     * The same size of model as SigLIP: MAP-head vision tower (64 px, patch 8, width 96, 4 layers), text tower of width
     * 64 and 2 layers whose head projects to the vision width; vocabulary set later.
     */
    static ObjectNode shapesSiglip(int contextLength) {
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        ObjectNode v = cfg.putObject("vision_config");
        v.put("hidden_size", 96).put("intermediate_size", 384).put("num_hidden_layers", 4)
                .put("num_attention_heads", 4).put("image_size", 64).put("patch_size", 8)
                .put("hidden_act", "gelu_pytorch_tanh").put("layer_norm_eps", 1e-6).put("vision_use_head", true);
        ObjectNode t = cfg.putObject("text_config");
        t.put("hidden_size", 64).put("intermediate_size", 256).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("max_position_embeddings", contextLength)
                .put("hidden_act", "gelu_pytorch_tanh").put("layer_norm_eps", 1e-6).put("projection_size", 96);
        return cfg;
    }

    @Override
    public Integer call() throws Exception {
        validate();
        var err = spec.commandLine().getErr();
        Path out = arch.resume != null ? arch.resume : output;
        BackendOptions opts = new BackendOptions(Device.parse(device), dev.visiontower.api.DType.FLOAT32, threads, Map.of());
        try (Backend b = Backends.open(backend, opts)) {
            if (!b.has(Capability.TRAINING)) {
                throw new UnsupportedCapabilityException(b.name(), Capability.TRAINING,
                        "training (use --backend libtorch)");
            }
            TrainingData dataset = TrainingData.load(data, seed);
            int startEpoch = 0;
            Path source;
            if (arch.resume != null) {
                source = arch.resume;
                JsonNode state = json.readTree(arch.resume.resolve("trainer_state.json").toFile());
                startEpoch = state.path("epoch").asInt();
                readMetrics(arch.resume);
            } else if (arch.init != null) {
                source = arch.init;
            } else {
                source = initialCheckpoint(dataset, out);
            }
            try (Checkpoint ck = Checkpoint.open(source)) {
                ModelFamilyProvider fam = Models.detect(ck).family();
                if (family != null && !family.equals(fam.name())) {
                    throw new InvalidInputException(source + " is a " + fam.name() + " checkpoint, not " + family);
                }
                TrainableDualEncoder model = fam.loadForTraining(ck, b).orElseThrow(() -> new InvalidInputException(
                        source + ": the " + fam.name() + " family cannot train this checkpoint (it needs both towers "
                                + "and the logit scale)"));
                try {
                    Tokenizer tok = fam.tokenizer(ck).orElseThrow(() -> new InvalidInputException(source
                            + ": no tokenizer for the captions"));
                    ImagePreprocessor pre = fam.imagePreprocessor(ck);
                    ContrastiveTrainer trainer = new ContrastiveTrainer(model, b, AdamW.Betas.CLIP, weightDecay)
                            .mixedPrecision(precision.equals("bf16") ? DType.BFLOAT16 : DType.FLOAT32)
                            .gradientCheckpointing(gradCheckpointing);
                    if (arch.resume != null) {
                        trainer.restore(readOptimizer(arch.resume.resolve("optimizer.safetensors")));
                    }
                    err.printf(Locale.ROOT, "training %s (%s, %,d weights) on %d images (%d held out), %s/%s%n",
                            fam.name(), Models.detect(ck).format(), model.size(), dataset.train.size(),
                            dataset.heldout.size(), b.name(), b.device());
                    loop(b, fam, ck, model, trainer, tok, pre, dataset, out, startEpoch);
                } finally {
                    model.close();
                }
            }
        }
        return 0;
    }

    private void validate() {
        if (arch.resume == null && output == null) {
            throw new InvalidInputException("--output is required (unless --resume)");
        }
        if (epochs < 1 || batch < 2 || lr <= 0 || warmup < 0 || weightDecay < 0 || clipGrad < 0) {
            throw new InvalidInputException("--epochs >= 1, --batch >= 2 (contrastive), --lr > 0, --warmup >= 0, "
                    + "--weight-decay >= 0 and --clip-grad >= 0 are required");
        }
        if (!precision.equals("fp32") && !precision.equals("bf16")) {
            throw new InvalidInputException("--precision must be fp32 or bf16, got " + precision);
        }
    }

    /** A new model in {@code out}: the architecture, a tokenizer built from the captions, random weights. */
    private Path initialCheckpoint(TrainingData dataset, Path out) throws IOException {
        String fam = family != null ? family
                : arch.preset != null && arch.preset.equals("shapes-siglip") ? "siglip" : "clip";
        ModelFamilyProvider f = Models.families().stream().filter(p -> p.name().equals(fam)).findFirst()
                .orElseThrow(() -> new InvalidInputException("unknown family '" + fam + "'"));
        List<String> captions = new ArrayList<>();
        dataset.train.forEach(e -> captions.add(e.text()));
        Path tokenizerFiles = Files.createTempDirectory("visiontower-tokenizer");
        try {
            Map<String, Integer> textEntries;
            Optional<Map<String, Integer>> written = f.writeCaptionTokenizer(tokenizerFiles, captions);
            if (written.isPresent()) {
                textEntries = written.get();
            } else if (fam.equals("clip")) {
                CaptionVocabulary vocab = new CaptionVocabulary(captions);
                int eos = vocab.size() - 1;
                Files.write(tokenizerFiles.resolve("vocab.json"), vocab.vocabJson());
                Files.write(tokenizerFiles.resolve("merges.txt"), vocab.mergesTxt());
                textEntries = Map.of("vocab_size", vocab.size(), "eos_token_id", eos, "bos_token_id", eos - 1);
            } else {
                throw new InvalidInputException("training a " + fam + " model from scratch needs its tokenizer: "
                        + "start from a checkpoint with --init");
            }
            ObjectNode cfg;
            if (arch.preset != null) {
                String expected = "shapes-" + fam;
                if (!arch.preset.equals("shapes-clip") && !arch.preset.equals("shapes-siglip")) {
                    throw new InvalidInputException("unknown training preset '" + arch.preset
                            + "', expected shapes-clip or shapes-siglip");
                }
                if (!arch.preset.equals(expected)) {
                    throw new InvalidInputException("--preset " + arch.preset + " does not make a " + fam
                            + " model (use " + expected + ")");
                }
                cfg = fam.equals("siglip") ? shapesSiglip(16) : shapesClip(16);
            } else {
                cfg = (ObjectNode) json.readTree(arch.modelConfig.toFile());
            }
            ObjectNode t = (ObjectNode) cfg.with("text_config");
            new java.util.TreeMap<>(textEntries).forEach(t::put); // sorted: the same config.json every run
            f.writeInitialCheckpoint(out, cfg, seed);
            try (var files = Files.list(tokenizerFiles)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.copy(file, out.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            int size = cfg.path("vision_config").path("image_size").asInt(224);
            ObjectNode pre = json.createObjectNode();
            pre.put("do_resize", true).put("resample", 3).put("do_rescale", true).put("rescale_factor", 1 / 255.0)
                    .put("do_normalize", true);
            if (fam.equals("siglip")) { // SiglipImageProcessor: a square resize, no crop, mean and std 0.5
                pre.put("image_processor_type", "SiglipImageProcessor");
                pre.putObject("size").put("height", size).put("width", size);
                pre.putArray("image_mean").add(0.5).add(0.5).add(0.5);
                pre.putArray("image_std").add(0.5).add(0.5).add(0.5);
            } else {
                pre.put("do_center_crop", true);
                pre.putObject("size").put("shortest_edge", size);
                pre.putObject("crop_size").put("height", size).put("width", size);
                pre.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
                pre.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
            }
            json.writerWithDefaultPrettyPrinter().writeValue(out.resolve("preprocessor_config.json").toFile(), pre);
            return out;
        } finally {
            try (var files = Files.walk(tokenizerFiles)) {
                for (Path x : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(x);
                }
            }
        }
    }

    private double lrAt(long step, long total) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return 0.5 * lr * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    }

    private record Batch(HostTensor pixels, Encoding text) {
    }

    private Batch prepare(List<TrainingData.Example> items, ImagePreprocessor pre, Tokenizer tok) {
        List<HostTensor> px = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (TrainingData.Example e : items) {
            px.add(pre.apply(ImageDecoding.read(e.image())));
            texts.add(e.text());
        }
        return new Batch(HostTensor.concat0(px), tok.encode(texts));
    }

    private void loop(Backend b, ModelFamilyProvider fam, Checkpoint ck, TrainableDualEncoder model,
                      ContrastiveTrainer trainer, Tokenizer tok, ImagePreprocessor pre, TrainingData dataset, Path out,
                      int startEpoch) throws Exception {
        var err = spec.commandLine().getErr();
        int perEpoch = (dataset.train.size() + batch - 1) / batch;
        long total = (long) perEpoch * epochs;
        long step = (long) startEpoch * perEpoch;
        ExecutorService workers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "visiontower-data");
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        long imagesSeen = 0;
        try {
            for (int epoch = startEpoch; epoch < epochs; epoch++) {
                List<TrainingData.Example> order = new ArrayList<>(dataset.train);
                java.util.Collections.shuffle(order, new Random(seed * 1000003 + epoch));
                List<Future<Batch>> queue = new ArrayList<>();
                for (int i = 0; i < perEpoch; i++) {
                    List<TrainingData.Example> items = order.subList(i * batch, Math.min(order.size(), (i + 1) * batch));
                    queue.add(workers.submit(() -> prepare(items, pre, tok)));
                }
                double epochLoss = 0;
                for (int i = 0; i < perEpoch; i++) {
                    Batch bt = queue.get(i).get();
                    queue.set(i, null);
                    if (bt.pixels().dim(0) < 2) {
                        continue;
                    }
                    double rate = lrAt(step, total);
                    float loss = trainer.step(bt.pixels(), bt.text(), rate, clipGrad);
                    step++;
                    imagesSeen += bt.pixels().dim(0);
                    epochLoss += loss;
                    lossCurve.add(new double[] {step, loss});
                    double secs = (System.nanoTime() - start) / 1e9;
                    double ips = imagesSeen / secs;
                    double eta = (total - step) * (secs / (step - (long) startEpoch * perEpoch));
                    ObjectNode m = json.createObjectNode();
                    m.put("step", step).put("epoch", epoch + 1).put("loss", loss).put("lr", rate)
                            .put("images_per_second", ips);
                    metrics.add(json.writeValueAsString(m));
                    if (i % 5 == 0 || i == perEpoch - 1) {
                        err.printf(Locale.ROOT, "\repoch %d/%d step %d/%d loss %.4f lr %.2e %.1f img/s ETA %.0fs   ",
                                epoch + 1, epochs, step, total, loss, rate, ips, eta);
                        err.flush();
                    }
                }
                err.println();
                Evaluation ev = evaluate(b, model, tok, pre, dataset.heldout);
                accCurve.add(new double[] {epoch + 1, ev.accuracy});
                ObjectNode m = json.createObjectNode();
                m.put("epoch", epoch + 1).put("step", step).put("train_loss", epochLoss / perEpoch)
                        .put("heldout_loss", ev.loss).put("heldout_zero_shot_accuracy", ev.accuracy)
                        .put("heldout_labels", ev.labels);
                metrics.add(json.writeValueAsString(m));
                err.printf(Locale.ROOT, "epoch %d: train loss %.4f, held-out loss %.4f, zero-shot accuracy %.1f%% over "
                        + "%d labels%n", epoch + 1, epochLoss / perEpoch, ev.loss, 100 * ev.accuracy, ev.labels);
                save(fam, ck, model, trainer, out, epoch + 1, step);
            }
        } finally {
            workers.shutdownNow();
        }
        err.println("wrote " + out + " (model.safetensors, config.json, tokenizer files, optimizer state, "
                + "metrics.jsonl, training_curve.png)");
    }

    private record Evaluation(double accuracy, double loss, int labels) {
    }

    /** Zero-shot accuracy over every label seen in the held-out split ("a {label}"), and the held-out loss. */
    private Evaluation evaluate(Backend b, TrainableDualEncoder model, Tokenizer tok, ImagePreprocessor pre,
                                List<TrainingData.Example> heldout) {
        List<String> labels = new ArrayList<>(new LinkedHashSet<>(heldout.stream().map(TrainingData.Example::label)
                .filter(java.util.Objects::nonNull).toList()));
        double correct = 0;
        double lossSum = 0;
        int lossBatches = 0;
        try (TensorScope s = b.newScope()) {
            Tensor txt = null;
            if (!labels.isEmpty()) {
                List<String> prompts = new ArrayList<>();
                labels.forEach(l -> prompts.add("a " + l));
                Encoding enc = tok.encode(prompts);
                txt = b.ops().l2Normalize(model.text().forward(b.fromHost(enc.inputIds()),
                        b.fromHost(enc.attentionMask()), false).embedding(), -1, 1e-12);
            }
            for (int i = 0; i < heldout.size(); i += batch) {
                List<TrainingData.Example> items = heldout.subList(i, Math.min(heldout.size(), i + batch));
                Batch bt = prepare(items, pre, tok);
                try (TensorScope inner = b.newScope()) {
                    Tensor img = b.ops().l2Normalize(model.vision().forward(b.fromHost(bt.pixels()),
                            ForwardOptions.DEFAULT).embedding(), -1, 1e-12);
                    if (items.size() > 1) {
                        Tensor cap = b.ops().l2Normalize(model.text().forward(b.fromHost(bt.text().inputIds()),
                                b.fromHost(bt.text().attentionMask()), false).embedding(), -1, 1e-12);
                        lossSum += model.head().loss(img, cap).toHost().floats()[0];
                        lossBatches++;
                    }
                    if (txt != null) {
                        long[] pred = b.ops().argmax(model.head().logitsPerImage(img, txt), -1).toHost().longs();
                        for (int k = 0; k < items.size(); k++) {
                            if (labels.get((int) pred[k]).equals(items.get(k).label())) {
                                correct++;
                            }
                        }
                    }
                }
            }
        }
        return new Evaluation(labels.isEmpty() ? Double.NaN : correct / heldout.size(),
                lossBatches == 0 ? Double.NaN : lossSum / lossBatches, labels.size());
    }

    private void save(ModelFamilyProvider fam, Checkpoint ck, TrainableDualEncoder model, ContrastiveTrainer trainer,
                      Path out, int epoch, long step) throws IOException {
        Map<String, byte[]> extra = new LinkedHashMap<>();
        Path tmp = Files.createTempFile("optimizer", ".safetensors");
        try {
            Map<String, HostTensor> opt = new LinkedHashMap<>();
            for (TrainableParameter p : model.parameters()) {
                AdamW a = trainer.optimizerState().get(p.name());
                long n = a.firstMoment().length;
                opt.put(p.name() + ".m", HostTensor.ofFloats(a.firstMoment(), n));
                opt.put(p.name() + ".v", HostTensor.ofFloats(a.secondMoment(), n));
                opt.put(p.name() + ".step", HostTensor.ofLongs(new long[] {a.step()}, 1));
            }
            SafetensorsWriter.write(tmp, opt, Map.of("optimizer", "AdamW"));
            extra.put("optimizer.safetensors", Files.readAllBytes(tmp));
        } finally {
            Files.deleteIfExists(tmp);
        }
        ObjectNode state = json.createObjectNode();
        state.put("epoch", epoch).put("step", step).put("epochs", epochs).put("batch", batch).put("lr", lr)
                .put("warmup", warmup).put("weight_decay", weightDecay).put("seed", seed).put("precision", precision)
                .put("grad_checkpointing", gradCheckpointing);
        extra.put("trainer_state.json", json.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
        extra.put("metrics.jsonl", (String.join("\n", metrics) + "\n").getBytes(StandardCharsets.UTF_8));
        extra.put("training_curve.png", Curve.png(lossCurve, accCurve));
        CheckpointWriter.write(out, ck.dir(), model.checkpointWeights(), extra);
    }

    private Map<String, AdamW> readOptimizer(Path file) {
        Map<String, AdamW> out = new LinkedHashMap<>();
        try (Safetensors s = Safetensors.open(file)) {
            for (String n : s.names()) {
                if (n.endsWith(".m")) {
                    String p = n.substring(0, n.length() - 2);
                    out.put(p, new AdamW(s.read(p + ".m").floats(), s.read(p + ".v").floats(),
                            (int) s.read(p + ".step").longs()[0]));
                }
            }
        }
        return out;
    }

    private void readMetrics(Path dir) throws IOException {
        Path m = dir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(m)) {
            return;
        }
        for (String line : Files.readAllLines(m)) {
            if (line.isBlank()) {
                continue;
            }
            metrics.add(line);
            JsonNode o = json.readTree(line);
            if (o.has("loss")) {
                lossCurve.add(new double[] {o.get("step").asDouble(), o.get("loss").asDouble()});
            } else if (o.has("heldout_zero_shot_accuracy")) {
                accCurve.add(new double[] {o.get("epoch").asDouble(), o.get("heldout_zero_shot_accuracy").asDouble()});
            }
        }
    }
}
