package dev.visiontower.api.checkpoint;

import dev.visiontower.api.HostTensor;

/** Model weights under canonical names, loaded lazily (one tensor in heap memory at a time). */
public interface WeightSource {

    /** Loads the tensor for a canonical name. */
    HostTensor load(String canonicalName);

    /** Where a canonical name comes from, for messages (e.g. {@code visual.proj (transposed) in model.safetensors}). */
    String describe(String canonicalName);
}
