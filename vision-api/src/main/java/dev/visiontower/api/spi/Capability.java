package dev.visiontower.api.spi;

/** What a backend can do. */
public enum Capability {
    /** Runs forward passes. */
    INFERENCE,
    /** Computes gradients (autograd) and can train. */
    TRAINING,
    FLOAT32,
    FLOAT16,
    BFLOAT16,
    /** int8 matrix products: weights quantised per output channel, activations per product at run time. */
    INT8,
    /** Runs on NVIDIA GPUs. */
    CUDA,
    /** Compiles whole graphs (the model is traced, then run as one unit). */
    GRAPH_COMPILATION
}
