package dev.visiontower.api.checkpoint;

import dev.visiontower.api.Shapes;

/**
 * A tensor's entry in a file, before its data is read.
 *
 * @param name  tensor name
 * @param dtype dtype string as stored ({@code F32}, {@code BF16}, ...)
 * @param shape dimensions
 * @param file  the file it lives in (for messages)
 */
public record TensorInfo(String name, String dtype, long[] shape, String file) {
    @Override
    public String toString() {
        return name + " " + dtype + Shapes.format(shape);
    }
}
