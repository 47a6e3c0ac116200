package dev.visiontower.api.nn;

/**
 * Per-call options of a vision forward pass.
 *
 * @param interpolatePosEncoding resample the position embedding to the input's patch grid (Hugging Face
 *                               {@code interpolate_pos_encoding=True})
 * @param outputHiddenStates     also return the input of block 0 and the output of every block
 */
public record ForwardOptions(boolean interpolatePosEncoding, boolean outputHiddenStates) {
    public static final ForwardOptions DEFAULT = new ForwardOptions(false, false);

    public ForwardOptions withHiddenStates(boolean v) {
        return new ForwardOptions(interpolatePosEncoding, v);
    }

    public ForwardOptions withInterpolation(boolean v) {
        return new ForwardOptions(v, outputHiddenStates);
    }
}
