package dev.visiontower.api.nn;

/** Where the container applies its final norm ({@code norm.*}). */
public enum FinalNorm {
    /** No final norm (InternViT). */
    NONE,
    /** Only on the pooled class token; {@code last_hidden_state} stays un-normed (Hugging Face CLIP). */
    POOLED,
    /** On every token; {@code last_hidden_state} is normed (SigLIP). */
    ALL_TOKENS
}
