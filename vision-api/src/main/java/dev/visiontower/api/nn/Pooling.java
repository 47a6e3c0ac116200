package dev.visiontower.api.nn;

/** How the container reduces tokens to one vector. */
public enum Pooling {
    /** Token 0 (needs a class token). */
    CLASS_TOKEN,
    /** Multihead attention pooling with a learned probe ("MAP", SigLIP). */
    MAP,
    /** Mean over the patch tokens (class token excluded). */
    MEAN,
    /** No pooled output. */
    NONE
}
