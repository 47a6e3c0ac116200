package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;

/** One pre-norm transformer block: {@code [B, N, D] -> [B, N, D]}. */
public interface TransformerBlock {
    /**
     * @param x    tokens {@code [B, N, D]}
     * @param mask additive attention mask broadcastable to {@code [B, H, N, N]}, or null
     */
    Tensor forward(Tensor x, Tensor mask);
}
