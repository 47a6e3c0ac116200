package dev.visiontower.api.spi;

import dev.visiontower.api.Backend;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.text.Tokenizer;

import java.util.Optional;

/**
 * A model family (CLIP, SigLIP, InternViT, or a third party's), found with {@link java.util.ServiceLoader}. It
 * recognises its checkpoints by their config and tensor names and builds models from them; model code is written
 * against {@link dev.visiontower.api.Ops} only, so a family runs on every backend unchanged.
 */
public interface ModelFamilyProvider {

    /** Short unique name, e.g. {@code clip}. */
    String name();

    /**
     * Whether this family can load {@code checkpoint}.
     *
     * @return a description of the recognised format (e.g. "Hugging Face CLIPVisionModelWithProjection"), or empty
     */
    Optional<String> recognize(Checkpoint checkpoint);

    /** Builds the image encoder on {@code backend}. */
    VisionModel loadVision(Checkpoint checkpoint, Backend backend, LoadOptions options);

    /** The preprocessing the checkpoint expects. */
    ImagePreprocessor imagePreprocessor(Checkpoint checkpoint);

    /**
     * The preprocessing with options. Families without tiling accept only {@code tiles == 1}.
     */
    default ImagePreprocessor imagePreprocessor(Checkpoint checkpoint, PreprocessOptions options) {
        if (options.tiles() > 1) {
            throw new dev.visiontower.api.InvalidInputException("the " + name() + " family has no dynamic tiling "
                    + "(--tiles is for InternVL-style models)");
        }
        return imagePreprocessor(checkpoint);
    }

    /** Builds the text encoder, or empty when the checkpoint has none (a vision-only checkpoint or family). */
    default Optional<TextModel> loadText(Checkpoint checkpoint, Backend backend, LoadOptions options) {
        return Optional.empty();
    }

    /** The tokenizer of the checkpoint's text tower, or empty when there is none. */
    default Optional<Tokenizer> tokenizer(Checkpoint checkpoint) {
        return Optional.empty();
    }

    /**
     * Loads the dual encoder for training (every weight listed, writable back under the checkpoint's names), or
     * empty when the family does not train.
     */
    default Optional<dev.visiontower.api.train.TrainableDualEncoder> loadForTraining(Checkpoint checkpoint,
                                                                                    Backend backend) {
        return Optional.empty();
    }

    /**
     * Writes a freshly initialised checkpoint ({@code config.json} + {@code model.safetensors}, the family's usual
     * layout) for the architecture {@code modelConfig} describes, with seeded random weights.
     *
     * @throws dev.visiontower.api.InvalidInputException when the family cannot create models
     */
    default void writeInitialCheckpoint(java.nio.file.Path dir, com.fasterxml.jackson.databind.JsonNode modelConfig,
                                        long seed) {
        throw new dev.visiontower.api.InvalidInputException("the " + name() + " family cannot create models to train");
    }

    /**
     * Training from scratch: writes the family's tokenizer files for a vocabulary covering {@code captions} into
     * {@code dir}, and returns the text-config entries that go with it ({@code vocab_size} and special token ids).
     * Empty when the family builds no tokenizer this way (the caller then provides one).
     */
    default Optional<java.util.Map<String, Integer>> writeCaptionTokenizer(java.nio.file.Path dir,
                                                                         java.util.List<String> captions) {
        return Optional.empty();
    }

    /**
     * Writes {@code weights} (checkpoint names) into {@code dir} in the layout of {@code like} (its config and
     * tokenizer files are copied), replacing {@code dir} only once everything is written.
     */
    default void writeCheckpoint(java.nio.file.Path dir, Checkpoint like,
                                 java.util.Map<String, dev.visiontower.api.HostTensor> weights) {
        dev.visiontower.api.train.CheckpointWriter.write(dir, like.dir(), weights, java.util.Map.of());
    }

    /** The family's standard tokenizer when no checkpoint is at hand (CLIP's bundled BPE), or empty. */
    default Optional<Tokenizer> defaultTokenizer() {
        return Optional.empty();
    }

    /** The similarity and loss head of a dual encoder (logit scale and bias), or empty when there is none. */
    default Optional<ContrastiveHead> loadHead(Checkpoint checkpoint, Backend backend) {
        return Optional.empty();
    }
}
