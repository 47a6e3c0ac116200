package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;

/** Reduces tokens {@code [B, N, D]} to one vector per image {@code [B, D]} (e.g. the MAP head). */
public interface AttentionPool {
    Tensor pool(Tensor x);
}
