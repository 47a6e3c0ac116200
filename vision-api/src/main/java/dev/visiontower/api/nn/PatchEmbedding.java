package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;

/** Turns pixels {@code [B, C, H, W]} into patch tokens {@code [B, (H/P)*(W/P), D]} (no class token, no position). */
public interface PatchEmbedding {
    Tensor embed(Tensor pixels);
}
