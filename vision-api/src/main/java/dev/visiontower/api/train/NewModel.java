package dev.visiontower.api.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.checkpoint.WeightMapping;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.TextTransformer;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.spi.ModelRecipe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * New models for training from scratch, written the same way for every family from its {@link ModelRecipe}: the
 * config is completed by the family, the family recognises it (from a scratch directory holding the config and
 * placeholders for the tensors whose shapes the layout reads), and the weights of the towers it defines are drawn at
 * random (normal, standard deviation 0.02; norms 1, biases 0) and written under the family's own tensor names.
 */
public final class NewModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    private NewModel() {
    }

    /** The family's recipe, or a clear error when the family does not create models. */
    public static ModelRecipe recipe(ModelFamilyProvider family) {
        return family.recipe().orElseThrow(() -> new InvalidInputException("the " + family.name()
                + " family cannot create models to train (start from a checkpoint with --init)"));
    }

    /**
     * A model to train on {@code captions}: the family's tokenizer files for them, {@code modelConfig} (a preset's or
     * the user's config, its text config given the vocabulary), the preprocessing config and seeded random weights,
     * written to {@code dir} (replaced only once everything is written).
     */
    public static void create(ModelFamilyProvider family, Path dir, JsonNode modelConfig, List<String> captions,
                              long seed) {
        ModelRecipe recipe = recipe(family);
        if (modelConfig == null || !modelConfig.isObject()) {
            throw new InvalidInputException("a " + family.name() + " model config must be a JSON object");
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        Path tokenizer = null;
        try {
            tokenizer = Files.createTempDirectory("visiontower-tokenizer");
            Map<String, Integer> entries = recipe.writeCaptionTokenizer(tokenizer, captions);
            try (var list = Files.list(tokenizer)) {
                for (Path f : (Iterable<Path>) list.sorted()::iterator) {
                    files.put(f.getFileName().toString(), Files.readAllBytes(f));
                }
            }
            ObjectNode complete = recipe.completeConfig(recipe.withTokenizerEntries((ObjectNode) modelConfig, entries));
            write(family, dir, complete, seed, d -> {
                Map<String, byte[]> all = new LinkedHashMap<>(files);
                try {
                    all.put("preprocessor_config.json", JSON.writerWithDefaultPrettyPrinter()
                            .writeValueAsBytes(recipe.preprocessorConfig(d.visionConfig().imageSize())));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                return all;
            });
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot create the model: " + e.getMessage(), e);
        } finally {
            deleteQuietly(tokenizer);
        }
    }

    /**
     * Writes {@code config.json} (completed by the family) and {@code model.safetensors} with seeded random weights
     * for the architecture {@code modelConfig} describes, plus {@code extra} files, into {@code dir}.
     */
    public static void write(ModelFamilyProvider family, Path dir, JsonNode modelConfig, long seed,
                             Map<String, byte[]> extra) {
        write(family, dir, modelConfig, seed, d -> extra);
    }

    private static void write(ModelFamilyProvider family, Path dir, JsonNode modelConfig, long seed,
                              Function<ModelDefinition, Map<String, byte[]>> extra) {
        ModelRecipe recipe = recipe(family);
        ObjectNode config = recipe.completeConfig(modelConfig);
        Map<String, long[]> declared = recipe.declaredTensors(config);
        Path scratch = null;
        try {
            byte[] configBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config);
            scratch = Files.createTempDirectory("visiontower-init");
            Files.write(scratch.resolve("config.json"), configBytes);
            Map<String, HostTensor> placeholders = new LinkedHashMap<>();
            declared.forEach((name, shape) -> placeholders.put(name,
                    HostTensor.ofFloats(new float[(int) Shapes.numel(shape)], shape)));
            SafetensorsWriter.write(scratch.resolve("model.safetensors"), placeholders, Map.of());
            Map<String, HostTensor> weights;
            Map<String, byte[]> all;
            try (Checkpoint c = Checkpoint.open(scratch)) {
                ModelDefinition d = family.recognize(c).orElseThrow(() -> new InvalidInputException("the "
                        + family.name() + " family does not recognise the model it was asked to create (its recipe "
                        + "and its recognize() disagree)"));
                weights = randomWeights(d, declared, recipe.headInit(config), seed);
                all = new LinkedHashMap<>(extra.apply(d));
            }
            all.put("config.json", configBytes);
            CheckpointWriter.write(dir, scratch, weights, all);
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot create the model: " + e.getMessage(), e);
        } finally {
            deleteQuietly(scratch);
        }
    }

    private static Map<String, HostTensor> randomWeights(ModelDefinition d, Map<String, long[]> declared,
                                                         Map<String, Float> headInit, long seed) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        Map<String, long[]> vShapes = VisionTransformer.parameterShapes(d.visionConfig());
        out.putAll(d.visionMapping().export(RandomWeights.generate(vShapes, seed),
                sourceShapes(d.visionMapping(), vShapes, declared)));
        if (d.textConfig().isPresent()) {
            TextConfig tc = d.textConfig().get();
            WeightMapping tm = d.textMapping().orElseThrow();
            Map<String, long[]> tShapes = TextTransformer.parameterShapes(tc);
            out.putAll(tm.export(RandomWeights.generate(tShapes, seed + 1), sourceShapes(tm, tShapes, declared)));
        }
        d.head().ifPresent(h -> h.sources().forEach((canonical, source) -> {
            Float v = headInit.get(canonical);
            if (v == null) {
                throw new InvalidInputException("the recipe gives no initial value for the head's " + canonical);
            }
            long[] shape = declared.getOrDefault(source, new long[0]);
            out.put(source, HostTensor.ofFloats(new float[] {v}, shape));
        }));
        return out;
    }

    /**
     * The checkpoint shape of every mapped tensor: the canonical shape, transposed, or the row blocks stacked;
     * a {@code declared} shape of the same size wins (a layout may store a {@code [D]} parameter as {@code [1, 1, D]}).
     */
    static Map<String, long[]> sourceShapes(WeightMapping m, Map<String, long[]> canonical,
                                            Map<String, long[]> declared) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (WeightMapping.Rule r : m.rules().values()) {
            long[] s = canonical.get(r.canonical());
            if (s == null) {
                continue;
            }
            switch (r.transform()) {
                case TRANSPOSE -> out.put(r.source(), new long[] {s[1], s[0]});
                case ROW_BLOCK -> out.merge(r.source(), s.clone(), (a, b) -> {
                    long[] sum = a.clone();
                    sum[0] += b[0];
                    return sum;
                });
                default -> out.put(r.source(), s.clone());
            }
        }
        declared.forEach((name, shape) -> {
            long[] s = out.get(name);
            if (s != null && Shapes.numel(s) == Shapes.numel(shape)) { // another size is only a marker
                out.put(name, shape.clone());
            }
        });
        return out;
    }

    /** Removes a staged new model once its run has written a checkpoint of its own (nothing when absent). */
    public static void discardStaged(Path dir) {
        deleteQuietly(dir);
    }

    /** Removes a temporary directory; one left over is harmless. */
    private static void deleteQuietly(Path dir) {
        if (dir != null) {
            try {
                CheckpointWriter.deleteTree(dir);
            } catch (IOException e) {
                // a leftover temporary directory is harmless
            }
        }
    }
}
