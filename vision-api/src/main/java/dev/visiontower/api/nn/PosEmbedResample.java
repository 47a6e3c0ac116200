package dev.visiontower.api.nn;

/** When the learned position embedding is resampled to the input's patch grid. */
public enum PosEmbedResample {
    /** Only when the caller asks ({@code interpolatePosEncoding}); a mismatched input size is an error otherwise. */
    ON_REQUEST,
    /** On every forward pass (InternViT; identity at the native grid). */
    ALWAYS
}
