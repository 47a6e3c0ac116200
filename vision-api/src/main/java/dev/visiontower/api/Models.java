package dev.visiontower.api;

import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.ModelFamilyProvider;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds the model family of a checkpoint through {@link ModelFamilyProvider}s and loads it. For both towers, the head
 * and zero-shot classification, see {@link DualEncoder}.
 */
public final class Models {
    private Models() {
    }

    /** A family that recognised a checkpoint, and what it found there. */
    public record Match(ModelFamilyProvider family, ModelDefinition definition) {
        /** What was recognised, e.g. "Hugging Face CLIPModel". */
        public String format() {
            return definition.format();
        }
    }

    /** An image encoder with the preprocessing its checkpoint expects. Closing closes the model. */
    public record LoadedVision(VisionModel model, ImagePreprocessor preprocessor, String family, String format)
            implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** Every family on the module or class path. */
    public static List<ModelFamilyProvider> families() {
        List<ModelFamilyProvider> out = new ArrayList<>();
        out.addAll(Providers.load(ModelFamilyProvider.class));
        return out;
    }

    /** The family named {@code name}; fails listing the families found. */
    public static ModelFamilyProvider family(String name) {
        List<ModelFamilyProvider> all = families();
        for (ModelFamilyProvider f : all) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        List<String> names = new ArrayList<>();
        all.forEach(f -> names.add(f.name()));
        throw new InvalidInputException("unknown family '" + name + "', expected one of " + names);
    }

    /** The family that recognises {@code checkpoint} and its definition; fails listing the families tried. */
    public static Match detect(Checkpoint checkpoint) {
        List<ModelFamilyProvider> all = families();
        for (ModelFamilyProvider f : all) {
            Optional<ModelDefinition> d;
            try {
                d = f.recognize(checkpoint);
            } catch (InvalidInputException e) {
                String where = checkpoint.dir().toString();
                if (e.getMessage() != null && e.getMessage().contains(where)) {
                    throw e;
                }
                // a family's config checks (VitConfig, TextConfig) do not know the file: name it here
                throw new CheckpointException(where + "/config.json (" + f.name() + "): " + e.getMessage(), e);
            }
            if (d.isPresent()) {
                return new Match(f, d.get());
            }
        }
        List<String> names = new ArrayList<>();
        all.forEach(f -> names.add(f.name()));
        throw new CheckpointException(checkpoint.dir() + ": no model family recognises this checkpoint (tried "
                + names + "); expected a Hugging Face or open_clip layout with config.json, or a model family of your "
                + "own on the module path (the launcher adds VISIONTOWER_MODULE_PATH)");
    }

    /** Opens {@code dir}, detects its family and loads the image encoder on {@code backend}. */
    public static LoadedVision loadVision(Path dir, Backend backend, LoadOptions options) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            ModelDefinition d = detect(ckpt).definition();
            ImagePreprocessor pre = d.preprocessor();
            VisionModel model = d.loadVision(ckpt, backend, options);
            return new LoadedVision(model, pre, d.family(), d.format());
        }
    }
}
