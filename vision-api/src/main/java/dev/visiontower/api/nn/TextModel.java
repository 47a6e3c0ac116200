package dev.visiontower.api.nn;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;

/** A text encoder bound to a backend. Owns its weights. */
public interface TextModel extends AutoCloseable {

    Backend backend();

    /** Longest input in tokens. */
    int contextLength();

    /**
     * Encodes token ids.
     *
     * @param inputIds      {@code [B, N]} int64, N at most {@link #contextLength()}
     * @param attentionMask {@code [B, N]} 1 for tokens, 0 for padding, or null to attend everywhere
     * @param hiddenStates  also return per-block states
     */
    TextOutput forward(Tensor inputIds, Tensor attentionMask, boolean hiddenStates);

    @Override
    void close();
}
