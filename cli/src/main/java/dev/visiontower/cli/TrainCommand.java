package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.UnsupportedCapabilityException;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.train.NewModel;
import dev.visiontower.api.train.TrainingRun;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code visiontower train}: parses the options, shows progress; the run itself is {@link TrainingRun}. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a dual encoder (any family that trains: CLIP, SigLIP, ...) on an image-caption folder with "
                + "the family's loss (AdamW, warm-up + cosine schedule, gradient clipping); writes a loadable "
                + "checkpoint in the family's layout after every epoch.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--family", paramLabel = "NAME",
            description = "Family of a new --model-config model (default: the family whose preset --preset names, "
                    + "or the --init model's).")
    String family;

    static final class Architecture {
        @Option(names = "--model-config", paramLabel = "FILE", description = "The family's config.json of a new model "
                + "(e.g. a Hugging Face CLIPConfig); needs --family.")
        Path modelConfig;

        @Option(names = "--preset", paramLabel = "NAME", description = "Architecture of a new model, e.g. shapes-clip "
                + "or shapes-siglip (`train --list-presets`).")
        String preset;

        @Option(names = "--init", paramLabel = "DIR", description = "Start from this checkpoint.")
        Path init;

        @Option(names = "--resume", paramLabel = "DIR", description = "Continue the run whose --output this was.")
        Path resume;

        @Option(names = "--list-presets", description = "List the presets of every family and exit.")
        boolean listPresets;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Architecture arch;

    @Option(names = "--data", paramLabel = "DIR", description = "Image folder with captions.jsonl or captions.csv (or "
            + "DIR/train and DIR/heldout).")
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

    @Option(names = {"--dtype", "--precision"}, defaultValue = "float32", paramLabel = "TYPE",
            description = "float32, or bfloat16 / float16 for autocast: matrix products and attention in that type; "
                    + "weights, gradients and optimizer state in float32 (default: ${DEFAULT-VALUE}; fp32 and bf16 "
                    + "are accepted too).")
    String precision;

    @Option(names = "--grad-checkpointing", description = "Keep only each block's input and recompute the blocks in the backward pass: "
            + "activation memory of one block instead of the towers, about a third more computation.")
    boolean gradCheckpointing;

    @Option(names = "--backend", paramLabel = "NAME", description = "Backend (must train; default: the selection rules).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "Intra-op threads.")
    int threads;

    @Mixin
    VerboseOption verbose;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if (arch.listPresets) {
            listPresets();
            return 0;
        }
        if (data == null) {
            throw new InvalidInputException("--data is required");
        }
        if (arch.resume == null && output == null) {
            throw new InvalidInputException("--output is required (unless --resume)");
        }
        DType dtype = DType.parse(precision);
        if (dtype != DType.FLOAT32 && dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) {
            throw new InvalidInputException("--dtype must be float32, bfloat16 or float16 for training, got "
                    + precision);
        }
        TrainingRun.Settings settings = new TrainingRun.Settings(epochs, batch, lr, warmup, weightDecay, clipGrad, seed,
                dtype, gradCheckpointing);
        NewModelPlan plan = arch.preset != null || arch.modelConfig != null ? planNewModel() : null;
        Path out = arch.resume != null ? arch.resume : output;
        BackendOptions opts = new BackendOptions(Device.parse(device), DType.FLOAT32, threads, Map.of());
        try (Backend b = Backends.open(backend, opts)) {
            if (!b.has(Capability.TRAINING)) { // before a new model is written
                throw new UnsupportedCapabilityException(b.name(), Capability.TRAINING, "training (use --backend "
                        + "libtorch)");
            }
            TrainingData dataset = TrainingData.load(data, seed);
            // a new model is staged beside the output (.NAME.init), so that until the first epoch is written the
            // output folder holds nothing that looks like a trained model; a run killed before that resumes from it
            Path staged = out.toAbsolutePath().resolveSibling("." + out.toAbsolutePath().getFileName() + ".init");
            Path source = arch.resume != null ? arch.resume : arch.init;
            boolean resume = arch.resume != null;
            if (plan != null) { // the architecture, a tokenizer for the captions, random weights
                List<String> captions = new ArrayList<>();
                dataset.train.forEach(e -> captions.add(e.text()));
                NewModel.create(plan.family(), staged, plan.config(), captions, seed);
                source = staged;
            } else if (resume && !TrainingRun.hasCompletedEpoch(out) && java.nio.file.Files.isDirectory(staged)) {
                err.println("no epoch of " + out + " was completed: starting again from the staged new model");
                source = staged;
                resume = false;
            }
            TrainingRun.run(b, source, resume, dataset.train, dataset.heldout, settings, out, new Progress(err, b));
            dev.visiontower.api.train.NewModel.discardStaged(staged);
        }
        err.println("wrote " + out + " (model.safetensors, config.json, tokenizer files, optimizer state, "
                + "metrics.jsonl, training_curve.png)");
        return 0;
    }

    /** The family and config of a new model (checked before anything is read or written). */
    private record NewModelPlan(ModelFamilyProvider family, JsonNode config) {
    }

    private NewModelPlan planNewModel() {
        if (arch.preset != null) {
            ModelFamilyProvider f = family != null ? Models.family(family) : presetOwner(arch.preset);
            return new NewModelPlan(f, NewModel.recipe(f).preset(arch.preset, 16));
        }
        if (family == null) {
            throw new InvalidInputException("--model-config needs --family (one of " + familyNames() + ")");
        }
        ModelFamilyProvider f = Models.family(family);
        NewModel.recipe(f);
        try {
            return new NewModelPlan(f, new ObjectMapper().readTree(arch.modelConfig.toFile()));
        } catch (IOException e) {
            throw new InvalidInputException(arch.modelConfig + ": cannot read the model config: " + e.getMessage(), e);
        }
    }

    private static ModelFamilyProvider presetOwner(String preset) {
        for (ModelFamilyProvider f : Models.families()) {
            if (f.recipe().map(r -> r.presets().containsKey(preset)).orElse(false)) {
                return f;
            }
        }
        throw new InvalidInputException("unknown preset '" + preset + "', expected one of " + allPresets().keySet());
    }

    private static Map<String, String> allPresets() {
        Map<String, String> out = new TreeMap<>();
        for (ModelFamilyProvider f : Models.families()) {
            f.recipe().ifPresent(r -> r.presets().forEach((name, what) -> out.put(name, f.name() + ": " + what)));
        }
        return out;
    }

    private static List<String> familyNames() {
        return Models.families().stream().filter(f -> f.recipe().isPresent()).map(ModelFamilyProvider::name).toList();
    }

    private void listPresets() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"PRESET", "FAMILY: ARCHITECTURE"});
        allPresets().forEach((name, what) -> rows.add(new String[] {name, what}));
        Table.print(spec.commandLine().getOut(), rows);
    }

    /** Progress on one line per epoch, a running line per step. */
    private record Progress(PrintWriter err, Backend b) implements TrainingRun.Listener {
        @Override
        public void started(String family, String format, long weights, int trainImages, int heldoutImages) {
            err.printf(Locale.ROOT, "training %s (%s, %,d weights) on %d images (%d held out), %s/%s%n", family, format,
                    weights, trainImages, heldoutImages, b.name(), b.device());
        }

        @Override
        public void step(TrainingRun.Step s) {
            if (s.step() % 5 != 0 && s.step() != s.totalSteps()) {
                return; // a line every fifth step is enough to watch
            }
            err.printf(Locale.ROOT, "\repoch %d/%d step %d/%d loss %.4f lr %.2e %.1f img/s ETA %.0fs   ", s.epoch(),
                    s.epochs(), s.step(), s.totalSteps(), s.loss(), s.lr(), s.imagesPerSecond(), s.etaSeconds());
            err.flush();
        }

        @Override
        public void epoch(TrainingRun.Epoch e) {
            err.println();
            err.printf(Locale.ROOT, "epoch %d: train loss %.4f, held-out loss %.4f, zero-shot accuracy %.1f%% over %d "
                    + "labels%n", e.epoch(), e.trainLoss(), e.heldoutLoss(), 100 * e.zeroShotAccuracy(), e.labels());
        }
    }
}
