package dev.visiontower.api.train;

import dev.visiontower.api.Tensor;

/**
 * A model tensor being trained, with the checkpoint tensor it comes from (the weight-decay rule and saving use the
 * checkpoint's name and shape).
 *
 * @param name            unique name: the tower ({@code vision.}, {@code text.}, {@code head.}) + canonical name
 * @param tensor          the backend tensor the model computes with (updated in place)
 * @param checkpointName  the checkpoint tensor it is read from (several canonical tensors may share one, e.g. a
 *                        packed {@code in_proj_weight})
 * @param checkpointShape that checkpoint tensor's shape
 */
public record TrainableParameter(String name, Tensor tensor, String checkpointName, long[] checkpointShape) {

    /** Whether open_clip's rule decays this tensor. */
    public boolean decays() {
        return AdamW.decays(checkpointName, checkpointShape);
    }
}
