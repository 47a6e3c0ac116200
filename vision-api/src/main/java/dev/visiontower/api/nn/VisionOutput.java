package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;
import java.util.List;

/**
 * Outputs of a vision forward pass, owned by the caller (close it, or let an enclosing scope do it).
 *
 * @param lastHiddenState {@code [B, T, D]}: final tokens (after the final norm only when it applies to all tokens)
 * @param poolerOutput    {@code [B, D]} pooled (and, for CLIP, normed) vector, or null without pooling
 * @param imageEmbeds     {@code [B, E]} projected pooled vector (not L2-normalised), or null without projection
 * @param hiddenStates    input of block 0 followed by each block's output, empty unless asked for
 */
public record VisionOutput(Tensor lastHiddenState, Tensor poolerOutput, Tensor imageEmbeds, List<Tensor> hiddenStates)
        implements AutoCloseable {

    public VisionOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    /** The embedding a user wants: the projection if there is one, else the pooled vector. */
    public Tensor embedding() {
        return imageEmbeds != null ? imageEmbeds : poolerOutput;
    }

    @Override
    public void close() {
        for (Tensor t : hiddenStates) {
            t.close();
        }
        lastHiddenState.close();
        if (poolerOutput != null) {
            poolerOutput.close();
        }
        if (imageEmbeds != null) {
            imageEmbeds.close();
        }
    }
}
