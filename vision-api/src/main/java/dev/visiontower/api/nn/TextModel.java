package dev.visiontower.api.nn;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;

/** A text encoder bound to a backend. Owns its weights. */
public interface TextModel extends AutoCloseable {

    Backend backend();

    /** Longest input in tokens. */
    int contextLength();

    /** Number of token ids the tower knows (valid ids are {@code 0 .. vocabSize-1}). */
    int vocabSize();

    /**
     * Encodes token ids.
     *
     * @param inputIds      {@code [B, N]} int64, N at most {@link #contextLength()}
     * @param attentionMask {@code [B, N]} 1 for tokens, 0 for padding, or null to attend everywhere (towers that
     *                      attend to padding by design, like SigLIP's, do not use it)
     * @param hiddenStates  also return per-block states
     */
    TextOutput forward(Tensor inputIds, Tensor attentionMask, boolean hiddenStates);

    @Override
    void close();
}
