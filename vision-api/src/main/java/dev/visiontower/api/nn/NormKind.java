package dev.visiontower.api.nn;

/** Normalisation layer types. */
public enum NormKind {
    /** LayerNorm with weight and bias. */
    LAYER_NORM,
    /** RMSNorm with weight only. */
    RMS_NORM
}
