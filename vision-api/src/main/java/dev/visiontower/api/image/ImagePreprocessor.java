package dev.visiontower.api.image;

import dev.visiontower.api.HostTensor;

/**
 * Turns one decoded image into model input: {@code [n, 3, H, W]} float32, where {@code n} is 1 for a plain transform
 * and the tile count for tiling schemes (InternVL).
 */
public interface ImagePreprocessor {
    HostTensor apply(RgbImage image);
}
