package dev.visiontower.api.spi;

import dev.visiontower.api.InvalidInputException;

/**
 * Options for a family's image preprocessing.
 *
 * @param tiles the most tiles an image may be cut into, for families with dynamic tiling (InternVL); 1 = no tiling
 */
public record PreprocessOptions(int tiles) {
    public static final PreprocessOptions DEFAULT = new PreprocessOptions(1);

    public PreprocessOptions {
        if (tiles < 1) {
            throw new InvalidInputException("tiles must be >= 1, got " + tiles);
        }
    }
}
