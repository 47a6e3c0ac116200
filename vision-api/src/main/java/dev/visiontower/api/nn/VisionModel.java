package dev.visiontower.api.nn;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;

/**
 * An image encoder bound to a backend. Owns its weights: close it to release them.
 */
public interface VisionModel extends AutoCloseable {

    Backend backend();

    /** The native input side in pixels. */
    int imageSize();

    /** Encodes {@code pixels [B, C, H, W]} (float32). */
    VisionOutput forward(Tensor pixels, ForwardOptions options);

    default VisionOutput forward(Tensor pixels) {
        return forward(pixels, ForwardOptions.DEFAULT);
    }

    @Override
    void close();
}
