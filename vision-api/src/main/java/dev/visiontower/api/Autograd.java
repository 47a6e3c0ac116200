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

    /**
     * Runs the operations of the current thread in mixed precision until the returned region is closed, like
     * {@code torch.autocast}: matrix products, convolutions and attention in {@code dtype} (bfloat16 or float16),
     * numerically sensitive operations in float32; parameters and their gradients stay float32. Open it around the
     * forward pass and the loss, and close it (on the same thread) before {@link #backward}.
     *
     * @throws UnsupportedCapabilityException when the backend has no mixed precision
     */
    default Region autocast(DType dtype) {
        throw new UnsupportedCapabilityException("this backend", dev.visiontower.api.spi.Capability.BFLOAT16,
                "mixed-precision (autocast) training");
    }

    /**
     * Operations on the current thread are not recorded until the returned region is closed (on the same thread):
     * their results have no history. Used to run parts of a model a second time only where gradients are needed
     * (gradient checkpointing).
     *
     * @throws UnsupportedCapabilityException when the backend cannot
     */
    default Region noGrad() {
        throw new UnsupportedCapabilityException("this backend", dev.visiontower.api.spi.Capability.TRAINING,
                "regions without gradient recording");
    }

    /** A new tensor (in the current scope) with the values of {@code x}, cut from its history, requiring gradients. */
    default Tensor detachRequiringGrad(Tensor x) {
        throw new UnsupportedCapabilityException("this backend", dev.visiontower.api.spi.Capability.TRAINING,
                "detaching tensors");
    }

    /**
     * Back-propagates {@code gradient} (the loss's gradient with respect to {@code output}, same shape) through the
     * history of {@code output}, accumulating into the leaves' gradients like {@link #backward(Tensor)}.
     */
    default void backward(Tensor output, Tensor gradient) {
        throw new UnsupportedCapabilityException("this backend", dev.visiontower.api.spi.Capability.TRAINING,
                "back-propagation from a non-scalar output");
    }

    /** A region of the current thread; closing it twice is harmless. */
    interface Region extends AutoCloseable {
        @Override
        void close();

        /**
         * A region of the calling thread that runs {@code restore} once, when it is closed on that same thread (the
         * state it restores is per thread; closing it elsewhere throws).
         */
        static Region ofCurrentThread(String what, Runnable restore) {
            Thread owner = Thread.currentThread();
            return new Region() {
                private boolean closed;

                @Override
                public void close() {
                    if (closed) {
                        return;
                    }
                    if (Thread.currentThread() != owner) {
                        throw new IllegalStateException(what + " region closed on another thread than the one that "
                                + "opened it (its state is per thread)");
                    }
                    closed = true;
                    restore.run();
                }
            };
        }
    }
}
