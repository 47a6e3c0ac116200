package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;
import java.util.List;

/**
 * Outputs of a text forward pass, owned by the caller.
 *
 * @param lastHiddenState {@code [B, N, D]} after the final norm
 * @param pooled          {@code [B, D]} the pooled position's state (before any projection)
 * @param textEmbeds      {@code [B, E]} the projected pooled state (not L2-normalised), or null without projection
 * @param hiddenStates    the embeddings followed by each block's output (before the final norm), if asked for
 */
public record TextOutput(Tensor lastHiddenState, Tensor pooled, Tensor textEmbeds, List<Tensor> hiddenStates)
        implements AutoCloseable {

    public TextOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    /** The projection if there is one, else the pooled state. */
    public Tensor embedding() {
        return textEmbeds != null ? textEmbeds : pooled;
    }

    @Override
    public void close() {
        hiddenStates.forEach(Tensor::close);
        lastHiddenState.close();
        pooled.close();
        if (textEmbeds != null) {
            textEmbeds.close();
        }
    }
}
