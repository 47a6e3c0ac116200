package dev.visiontower.api.nn;

import dev.visiontower.api.Tensor;

/**
 * How a dual encoder family turns L2-normalised image and text embeddings into logits, probabilities and its
 * training loss. Holds the learned scalars (log logit scale, logit bias); close it to release them.
 */
public interface ContrastiveHead extends AutoCloseable {

    /** How logits become probabilities for zero-shot classification. */
    enum Probability {
        /** Softmax over the candidate texts (CLIP). */
        SOFTMAX,
        /** Independent sigmoid per pair (SigLIP). */
        SIGMOID
    }

    Probability probability();

    /** {@code logits_per_image [Bi, Bt]} from normalised {@code imageEmbeds [Bi, E]} and {@code textEmbeds [Bt, E]}. */
    Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds);

    /** The family's loss with image {@code i} paired with text {@code i} (a 0-dimensional tensor). */
    Tensor loss(Tensor imageEmbeds, Tensor textEmbeds);

    /** The learned scalars by canonical name ({@code logit_scale}, and {@code logit_bias} for SigLIP). */
    java.util.Map<String, Tensor> parameters();

    @Override
    void close();
}
