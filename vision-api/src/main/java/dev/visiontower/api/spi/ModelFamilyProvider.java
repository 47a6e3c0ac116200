package dev.visiontower.api.spi;

import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.text.Tokenizer;

import java.util.Optional;

/**
 * A model family (CLIP, SigLIP, InternViT, or a third party's), found with {@link java.util.ServiceLoader}. A family
 * is declarative: it recognises its checkpoints and says what they contain ({@link ModelDefinition}: architectures,
 * weight mappings, head, tokenizer, preprocessing), and optionally how to make new models ({@link ModelRecipe}).
 * Loading, training and writing checkpoints are done by {@code vision-api} for every family alike, and model code is
 * written against {@link dev.visiontower.api.Ops} only, so a family runs on every backend unchanged.
 */
public interface ModelFamilyProvider {

    /** Short unique name, e.g. {@code clip}. */
    String name();

    /**
     * What this family finds in {@code checkpoint}, or empty when the checkpoint is not one of its own. Reads the
     * config and tensor names (not the weights); fails with a {@link dev.visiontower.api.CheckpointException} naming
     * the file and field when the checkpoint is this family's but its config is wrong.
     */
    Optional<ModelDefinition> recognize(Checkpoint checkpoint);

    /** How to create new models of this family for training, or empty when the family does not create models. */
    default Optional<ModelRecipe> recipe() {
        return Optional.empty();
    }

    /** The family's standard tokenizer when no checkpoint is at hand (CLIP's bundled BPE), or empty. */
    default Optional<Tokenizer> defaultTokenizer() {
        return Optional.empty();
    }
}
