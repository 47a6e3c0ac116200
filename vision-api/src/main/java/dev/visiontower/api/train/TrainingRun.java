package dev.visiontower.api.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.UnsupportedCapabilityException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A contrastive training run of any family's dual encoder, written to an output directory that is a loadable
 * checkpoint after every epoch: the weights under the family's names, its config and tokenizer files, the optimizer
 * state ({@link OptimizerState}), {@code trainer_state.json} (the settings and the epoch reached, for resuming),
 * {@code metrics.jsonl} (one line per step and per epoch) and {@code training_curve.png}. Each epoch is written as a
 * whole or not at all, so a killed run resumes from its last complete epoch.
 *
 * <p>The schedule is a linear warm-up then a cosine decay to 0 ({@link #learningRate}); evaluation after every
 * epoch gives the held-out loss and, when the held-out examples carry labels, the zero-shot accuracy with the
 * prompts {@code "a {label}"}. Images are decoded and preprocessed on two worker threads while the backend computes.
 */
public final class TrainingRun {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The settings and the epoch a run reached, written with each epoch's checkpoint. */
    public static final String STATE_FILE = "trainer_state.json";

    /**
     * Whether {@code dir} holds a completed epoch of a run (its {@link #STATE_FILE}), after finishing or undoing a
     * replacement of it that a crash interrupted ({@link CheckpointWriter#recover}).
     */
    public static boolean hasCompletedEpoch(Path dir) {
        CheckpointWriter.recover(dir);
        return Files.isRegularFile(dir.resolve(STATE_FILE));
    }

    /** One image with its caption, and optionally the label zero-shot evaluation compares against. */
    public record Example(Path image, String text, String label) {
        public Example {
            Objects.requireNonNull(image, "image");
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * What a run does.
     *
     * @param precision         {@code FLOAT32}, or {@code BFLOAT16} / {@code FLOAT16} for autocast (weights,
     *                          gradients and optimizer state stay float32)
     * @param clipGrad          global gradient-norm limit, 0 for none
     * @param gradCheckpointing recompute the blocks in the backward pass instead of keeping their activations
     */
    public record Settings(int epochs, int batch, double lr, int warmup, double weightDecay, double clipGrad, long seed,
                           DType precision, boolean gradCheckpointing) {
        public Settings {
            Objects.requireNonNull(precision, "precision");
            if (epochs < 1 || batch < 2 || !(lr > 0) || warmup < 0 || weightDecay < 0 || clipGrad < 0) {
                throw new InvalidInputException("training needs epochs >= 1, batch >= 2 (contrastive), lr > 0, "
                        + "warmup >= 0, weight decay >= 0 and gradient clipping >= 0; got epochs " + epochs
                        + ", batch " + batch + ", lr " + lr + ", warmup " + warmup + ", weight decay " + weightDecay
                        + ", clipping " + clipGrad);
            }
        }
    }

    /** Progress after a step. */
    public record Step(long step, long totalSteps, int epoch, int epochs, float loss, double lr,
                       double imagesPerSecond, double etaSeconds) {
    }

    /** The result of an epoch. {@code zeroShotAccuracy} is NaN when the held-out examples have no labels. */
    public record Epoch(int epoch, long step, double trainLoss, double heldoutLoss, double zeroShotAccuracy,
                        int labels) {
    }

    /** What a run reports while it works. */
    public interface Listener {
        /** Once, when the model is loaded. */
        default void started(String family, String format, long weights, int trainImages, int heldoutImages) {
        }

        default void step(Step step) {
        }

        /** After the epoch was evaluated and written. */
        default void epoch(Epoch epoch) {
        }
    }

    private TrainingRun() {
    }

    /** Linear warm-up over {@code warmup} steps to {@code peak}, then a cosine decay to 0 at {@code total}. */
    public static double learningRate(long step, long total, double peak, int warmup) {
        if (step < warmup) {
            return peak * (step + 1) / warmup;
        }
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return 0.5 * peak * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    }

    /**
     * Trains the checkpoint in {@code source} (a new model, a checkpoint to fine-tune, or with {@code resume} the
     * output of an earlier run, whose settings file says where it stopped) and writes {@code out} after each epoch.
     */
    public static void run(Backend backend, Path source, boolean resume, List<Example> train, List<Example> heldout,
                           Settings s, Path out, Listener listener) {
        if (!backend.has(Capability.TRAINING)) {
            throw new UnsupportedCapabilityException(backend.name(), Capability.TRAINING, "training (use --backend "
                    + "libtorch)");
        }
        if (train.isEmpty()) {
            throw new InvalidInputException("no training examples");
        }
        CheckpointWriter.recover(out); // a run killed while replacing its checkpoint left it half-renamed
        if (!out.toAbsolutePath().equals(source.toAbsolutePath())) {
            CheckpointWriter.recover(source);
        }
        int startEpoch = 0;
        List<String> metrics = new ArrayList<>();
        if (resume) {
            startEpoch = readState(source).path("epoch").asInt();
            if (startEpoch >= s.epochs()) {
                throw new InvalidInputException(source + ": the run already completed " + startEpoch + " epoch(s); "
                        + "ask for more with a larger --epochs (now " + s.epochs() + ")");
            }
            readMetrics(source, metrics);
        }
        try (Checkpoint ck = Checkpoint.open(source)) {
            Models.Match match = Models.detect(ck);
            ModelDefinition d = match.definition();
            try (TrainableDualEncoder model = d.loadForTraining(ck, backend)) {
                Tokenizer tok = d.tokenizer().orElseThrow(() -> new InvalidInputException(source
                        + ": no tokenizer for the captions"));
                ContrastiveTrainer trainer = new ContrastiveTrainer(model, backend, AdamW.Betas.CLIP, s.weightDecay())
                        .mixedPrecision(s.precision()).gradientCheckpointing(s.gradCheckpointing());
                if (resume) {
                    trainer.restore(OptimizerState.read(source.resolve(OptimizerState.FILE)));
                }
                listener.started(d.family(), d.format(), model.size(), train.size(), heldout.size());
                new Loop(backend, ck, model, trainer, tok, d.preprocessor(), train, heldout, s, out, listener, metrics,
                        d.files()).run(startEpoch);
            }
        }
    }

    /** {@code trainer_state.json} of an earlier run. */
    public static JsonNode readState(Path dir) {
        Path f = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(f)) {
            throw new InvalidInputException(dir + ": no completed epoch to resume from (" + STATE_FILE + " is missing); "
                    + "start the run again");
        }
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new InvalidInputException(f + ": cannot read the state of the run to resume: " + e.getMessage(), e);
        }
    }

    private static void readMetrics(Path dir, List<String> metrics) {
        Path m = dir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(m)) {
            return;
        }
        try {
            for (String line : Files.readAllLines(m)) {
                if (!line.isBlank()) {
                    metrics.add(line);
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException(m + ": " + e.getMessage(), e);
        }
    }

    /** The held-out zero-shot accuracy and loss of a model. */
    public record Evaluation(double accuracy, double loss, int labels) {
    }

    /**
     * Zero-shot accuracy over every label seen in {@code heldout} (prompt {@code "a {label}"}), and the mean loss
     * over its batches of {@code batch}.
     */
    public static Evaluation evaluate(Backend b, TrainableDualEncoder model, Tokenizer tok, ImagePreprocessor pre,
                                      List<Example> heldout, int batch) {
        List<String> labels = new ArrayList<>(new LinkedHashSet<>(heldout.stream().map(Example::label)
                .filter(Objects::nonNull).toList()));
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
                List<Example> items = heldout.subList(i, Math.min(heldout.size(), i + batch));
                Batch bt = Batch.of(items, pre, tok);
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

    private record Batch(HostTensor pixels, Encoding text) {
        static Batch of(List<Example> items, ImagePreprocessor pre, Tokenizer tok) {
            List<HostTensor> px = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (Example e : items) {
                px.add(pre.apply(ImageDecoding.read(e.image())));
                texts.add(e.text());
            }
            return new Batch(HostTensor.concat0(px), tok.encode(texts));
        }
    }

    private static final class Loop {
        private final Backend b;
        private final Checkpoint ck;
        private final TrainableDualEncoder model;
        private final ContrastiveTrainer trainer;
        private final Tokenizer tok;
        private final ImagePreprocessor pre;
        private final List<Example> train;
        private final List<Example> heldout;
        private final Settings s;
        private final Path out;
        private final Listener listener;
        private final List<String> metrics;
        private final List<String> files;

        Loop(Backend b, Checkpoint ck, TrainableDualEncoder model, ContrastiveTrainer trainer, Tokenizer tok,
             ImagePreprocessor pre, List<Example> train, List<Example> heldout, Settings s, Path out,
             Listener listener, List<String> metrics, List<String> files) {
            this.b = b;
            this.ck = ck;
            this.model = model;
            this.trainer = trainer;
            this.tok = tok;
            this.pre = pre;
            this.train = train;
            this.heldout = heldout;
            this.s = s;
            this.out = out;
            this.listener = listener;
            this.metrics = metrics;
            this.files = files;
        }

        void run(int startEpoch) {
            int perEpoch = (train.size() + s.batch() - 1) / s.batch();
            long total = (long) perEpoch * s.epochs();
            long step = (long) startEpoch * perEpoch;
            ExecutorService workers = Executors.newFixedThreadPool(2, r -> {
                Thread t = new Thread(r, "visiontower-data");
                t.setDaemon(true);
                return t;
            });
            long start = System.nanoTime();
            long imagesSeen = 0;
            try {
                for (int epoch = startEpoch; epoch < s.epochs(); epoch++) {
                    List<Example> order = new ArrayList<>(train);
                    Collections.shuffle(order, new Random(s.seed() * 1000003 + epoch));
                    List<Future<Batch>> queue = new ArrayList<>();
                    for (int i = 0; i < perEpoch; i++) {
                        List<Example> items = order.subList(i * s.batch(), Math.min(order.size(), (i + 1) * s.batch()));
                        queue.add(workers.submit(() -> Batch.of(items, pre, tok)));
                    }
                    double epochLoss = 0;
                    for (int i = 0; i < perEpoch; i++) {
                        Batch bt = take(queue.get(i));
                        queue.set(i, null);
                        if (bt.pixels().dim(0) < 2) {
                            continue;
                        }
                        double rate = learningRate(step, total, s.lr(), s.warmup());
                        float loss = trainer.step(bt.pixels(), bt.text(), rate, s.clipGrad());
                        step++;
                        imagesSeen += bt.pixels().dim(0);
                        epochLoss += loss;
                        double secs = (System.nanoTime() - start) / 1e9;
                        double eta = (total - step) * (secs / (step - (long) startEpoch * perEpoch));
                        Step st = new Step(step, total, epoch + 1, s.epochs(), loss, rate, imagesSeen / secs, eta);
                        ObjectNode m = JSON.createObjectNode();
                        m.put("step", step).put("epoch", epoch + 1).put("loss", loss).put("lr", rate)
                                .put("images_per_second", st.imagesPerSecond());
                        metrics.add(m.toString());
                        listener.step(st);
                    }
                    Evaluation ev = evaluate(b, model, tok, pre, heldout, s.batch());
                    Epoch result = new Epoch(epoch + 1, step, epochLoss / perEpoch, ev.loss(), ev.accuracy(),
                            ev.labels());
                    ObjectNode m = JSON.createObjectNode();
                    m.put("epoch", epoch + 1).put("step", step).put("train_loss", result.trainLoss())
                            .put("heldout_labels", ev.labels());
                    putNumber(m, "heldout_loss", ev.loss()); // null, not NaN: metrics.jsonl stays strict JSON
                    putNumber(m, "heldout_zero_shot_accuracy", ev.accuracy());
                    metrics.add(m.toString());
                    save(epoch + 1, step);
                    listener.epoch(result);
                }
            } finally {
                workers.shutdownNow();
            }
        }

        private static void putNumber(ObjectNode o, String key, double v) {
            if (Double.isNaN(v)) {
                o.putNull(key);
            } else {
                o.put(key, v);
            }
        }

        private static Batch take(Future<Batch> f) {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InvalidInputException("training interrupted", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new InvalidInputException("preparing a batch failed: " + e.getCause(), e.getCause());
            }
        }

        private void save(int epoch, long step) {
            Map<String, byte[]> extra = new LinkedHashMap<>();
            extra.put(OptimizerState.FILE, OptimizerState.toBytes(model, trainer));
            ObjectNode state = JSON.createObjectNode();
            state.put("epoch", epoch).put("step", step).put("epochs", s.epochs()).put("batch", s.batch())
                    .put("lr", s.lr()).put("warmup", s.warmup()).put("weight_decay", s.weightDecay())
                    .put("clip_grad", s.clipGrad()).put("seed", s.seed())
                    .put("precision", s.precision().name().toLowerCase(java.util.Locale.ROOT))
                    .put("grad_checkpointing", s.gradCheckpointing());
            try {
                extra.put(STATE_FILE, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            extra.put("metrics.jsonl", (String.join("\n", metrics) + "\n").getBytes(StandardCharsets.UTF_8));
            byte[] curve = TrainingCurve.pngOrNull(metrics);
            if (curve != null) {
                extra.put("training_curve.png", curve);
            }
            CheckpointWriter.write(out, ck.dir(), files, model.checkpointWeights(), extra);
        }
    }
}
