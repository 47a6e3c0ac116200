package dev.visiontower.api.spi;

/**
 * Options for loading a checkpoint.
 *
 * @param strict fail on checkpoint tensors the model does not use (missing and mis-shaped tensors always fail)
 */
public record LoadOptions(boolean strict) {
    public static final LoadOptions STRICT = new LoadOptions(true);
    public static final LoadOptions LENIENT = new LoadOptions(false);
}
