package dev.visiontower.api.spi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How a family makes a new model to train from scratch, as data: the config of a named preset or of the user's own,
 * a tokenizer written for the training captions, the preprocessing config, and the initial values of the head.
 * {@link dev.visiontower.api.train.NewModel} writes the checkpoint from it (random weights through the family's own
 * {@link ModelDefinition}), the same way for every family.
 */
public interface ModelRecipe {

    /** Named architectures for new models (name to a one-line description), e.g. {@code shapes-clip}. */
    Map<String, String> presets();

    /**
     * The model config of a preset, without vocabulary entries (they come from {@link #writeCaptionTokenizer}).
     *
     * @param contextLength the text tower's context length
     * @throws dev.visiontower.api.InvalidInputException for an unknown name, listing the presets
     */
    ObjectNode preset(String name, int contextLength);

    /**
     * The complete {@code config.json} for a model config (a preset's or the user's), with the family's type fields
     * added, or a clear error naming what is missing.
     */
    ObjectNode completeConfig(JsonNode modelConfig);

    /**
     * Checkpoint tensors whose shape the family's layout fixes for {@code config} (e.g. projection matrices whose
     * shape gives the projection width, the head's scalars): written as placeholders before the family recognises
     * the new checkpoint, so its architecture is read exactly as it will be when loaded, and used as the written
     * shape of those tensors.
     */
    Map<String, long[]> declaredTensors(ObjectNode config);

    /** Initial values of the head's scalars by canonical name (e.g. {@code logit_scale}). */
    Map<String, Float> headInit(ObjectNode config);

    /**
     * Writes the family's tokenizer files for a vocabulary that covers {@code captions} into {@code dir}; returns the
     * text-config entries that go with it ({@code vocab_size} and special token ids).
     */
    Map<String, Integer> writeCaptionTokenizer(Path dir, List<String> captions);

    /**
     * {@code config} with the entries {@link #writeCaptionTokenizer} returned (default: into {@code text_config},
     * where Hugging Face configs keep them).
     */
    default ObjectNode withTokenizerEntries(ObjectNode config, Map<String, Integer> entries) {
        ObjectNode out = config.deepCopy();
        ObjectNode text = out.with("text_config");
        new java.util.TreeMap<>(entries).forEach(text::put); // sorted: the same config.json every run
        return out;
    }

    /** The {@code preprocessor_config.json} of a new model for square images of {@code imageSize} pixels. */
    ObjectNode preprocessorConfig(int imageSize);
}
