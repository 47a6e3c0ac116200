package dev.visiontower.api.checkpoint;

import dev.visiontower.api.HostTensor;
import java.util.Set;

/** Named tensors that can be listed cheaply and read one at a time. */
public interface TensorSource {

    /** Every tensor name, in file order. */
    Set<String> names();

    /** The entry for {@code name}; throws {@link dev.visiontower.api.CheckpointException} if absent. */
    TensorInfo info(String name);

    /** Reads one tensor (floating types widened to float32, integer types to int64, U8 kept). */
    HostTensor read(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }
}
