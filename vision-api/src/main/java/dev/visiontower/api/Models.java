package dev.visiontower.api;

import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelFamilyProvider;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/** Finds the model family of a checkpoint directory through {@link ModelFamilyProvider}s and loads it. */
public final class Models {
    private Models() {
    }

    /** A family that recognised a checkpoint. */
    public record Match(ModelFamilyProvider family, String format) {
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
        ServiceLoader.load(ModelFamilyProvider.class).forEach(out::add);
        return out;
    }

    /** The family that recognises {@code checkpoint}; fails listing the families tried. */
    public static Match detect(Checkpoint checkpoint) {
        List<ModelFamilyProvider> all = families();
        for (ModelFamilyProvider f : all) {
            Optional<String> format = f.recognize(checkpoint);
            if (format.isPresent()) {
                return new Match(f, format.get());
            }
        }
        List<String> names = new ArrayList<>();
        all.forEach(f -> names.add(f.name()));
        throw new CheckpointException(checkpoint.dir() + ": no model family recognises this checkpoint (tried "
                + names + "); expected a Hugging Face or open_clip layout with config.json, or a model family of your own on the "
                + "module path (the launcher adds VISIONTOWER_MODULE_PATH)");
    }

    /** Opens {@code dir}, detects its family and loads the image encoder on {@code backend}. */
    public static LoadedVision loadVision(Path dir, Backend backend, LoadOptions options) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Match m = detect(ckpt);
            ImagePreprocessor pre = m.family().imagePreprocessor(ckpt);
            VisionModel model = m.family().loadVision(ckpt, backend, options);
            return new LoadedVision(model, pre, m.family().name(), m.format());
        }
    }
}
