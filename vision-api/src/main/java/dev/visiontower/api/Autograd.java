package dev.visiontower.api;

/**
 * Reverse-mode differentiation on a backend that trains ({@link dev.visiontower.api.spi.Capability#TRAINING}).
 * Obtain it with {@link Backend#autograd()}. Model and loss code stays the same: operations on tensors that require
 * gradients are recorded by the backend.
 */
public interface Autograd {

    /** Marks {@code leaf} (a parameter or input) as requiring gradients; returns it. */
    Tensor requireGrad(Tensor leaf);

    /** Back-propagates from a 0-dimensional {@code loss}, accumulating into the leaves' gradients. */
    void backward(Tensor loss);

    /** The accumulated gradient of {@code leaf} as a new tensor (in the current scope), or null if none. */
    Tensor grad(Tensor leaf);

    /** Clears the accumulated gradient of {@code leaf}. */
    void zeroGrad(Tensor leaf);

    /** Overwrites the values of {@code target} in place (an optimizer step), outside gradient recording. */
    void assign(Tensor target, HostTensor values);
}
